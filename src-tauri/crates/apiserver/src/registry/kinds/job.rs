//! Jobs (batch/v1): scheme defaults, the generated selector and its four labels, validation,
//! update and status strategies, field selectors and the kubectl table. Kubernetes keeps the
//! same in `pkg/apis/batch/v1/defaults.go` (`SetDefaults_Job`),
//! `pkg/registry/batch/job/strategy.go` (`generateSelector`, `DefaultGarbageCollectionPolicy`,
//! `JobToSelectableFields`), `pkg/apis/batch/validation/validation.go` (`ValidateJob`,
//! `validateGeneratedSelector`, `ValidateJobSpecUpdate`) and
//! `pkg/printers/internalversion/printers.go` (`printJob`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{Job, JobSpec, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kq_kube::validation::{FieldError, FieldErrorKind};
use serde_json::{Value, json};

use super::podtemplate as pt;
use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, col, name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The jobs resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "batch",
    version: "v1",
    plural: "jobs",
    singular: "job",
    kind: "Job",
    namespaced: true,
    short_names: &[],
    categories: &["all"],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "Job",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &Hooks,
};

/// The label (and selector key) tying a Job's pods to its uid.
pub const CONTROLLER_UID_LABEL: &str = "batch.kubernetes.io/controller-uid";
/// The label naming a pod's Job.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// The pre-1.27 spelling of [`CONTROLLER_UID_LABEL`], still set.
pub const LEGACY_CONTROLLER_UID_LABEL: &str = "controller-uid";
/// The pre-1.27 spelling of [`JOB_NAME_LABEL`], still set.
pub const LEGACY_JOB_NAME_LABEL: &str = "job-name";

/// Server-side behaviour of jobs.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col("Status", "string", "Status of the job.", 0),
    col(
        "Completions",
        "string",
        "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.",
        0,
    ),
    col(
        "Duration",
        "string",
        "Time required to complete the job.",
        0,
    ),
    age_column(),
    col("Containers", "string", pt::CONTAINERS_DESC, 1),
    col("Images", "string", pt::IMAGES_DESC, 1),
    col(
        "Selector",
        "string",
        "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors",
        1,
    ),
];

/// `SetDefaults_Job` on a job spec (also what a CronJob's job template gets from the
/// controller's copy, not from the API).
pub fn default_job_spec(spec: &mut JobSpec) {
    if spec.completions.is_none() && spec.parallelism.is_none() {
        spec.completions = Some(1);
        spec.parallelism = Some(1);
    }
    spec.parallelism.get_or_insert(1);
    if spec.backoff_limit.is_none() {
        spec.backoff_limit = Some(if spec.backoff_limit_per_index.is_some() {
            i32::MAX
        } else {
            6
        });
    }
    spec.completion_mode
        .get_or_insert_with(|| "NonIndexed".into());
    spec.suspend.get_or_insert(false);
    if spec.pod_replacement_policy.is_none() {
        spec.pod_replacement_policy = Some(
            if spec.pod_failure_policy.is_some() {
                "Failed"
            } else {
                "TerminatingOrFailed"
            }
            .into(),
        );
    }
    for rule in spec
        .pod_failure_policy
        .iter_mut()
        .flat_map(|p| p.rules.iter_mut())
    {
        for pattern in rule.on_pod_conditions.iter_mut().flatten() {
            if pattern.status.is_empty() {
                pattern.status = "True".into();
            }
        }
    }
    pt::default_template(&mut spec.template);
}

/// A job's labels default to its template's when it has none.
fn labels_from_template(job: &mut Job) {
    let template_labels = job
        .spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.labels.clone());
    if let Some(l) = template_labels
        && job.metadata.labels.as_ref().is_none_or(BTreeMap::is_empty)
    {
        job.metadata.labels = Some(l);
    }
}

fn defaulted(obj: &Value) -> crate::Result<Value> {
    let mut job: Job = typed(obj);
    default_job_spec(job.spec.get_or_insert_with(JobSpec::default));
    labels_from_template(&mut job);
    serde_json::to_value(&job).map_err(|e| crate::Error::Internal(e.to_string()))
}

/// `generateSelector`: the template gets the job-name and controller-uid labels (both
/// spellings) unless it has them, and the selector matches the controller uid.
fn generate_selector(job: &mut Job) {
    let name = job.metadata.name.clone().unwrap_or_default();
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let spec = job.spec.get_or_insert_with(JobSpec::default);
    let labels = spec
        .template
        .metadata
        .get_or_insert_with(Default::default)
        .labels
        .get_or_insert_with(BTreeMap::new);
    for key in [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL] {
        labels.entry(key.into()).or_insert_with(|| name.clone());
    }
    for key in [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL] {
        labels.entry(key.into()).or_insert_with(|| uid.clone());
    }
    spec.selector
        .get_or_insert_with(LabelSelector::default)
        .match_labels
        .get_or_insert_with(BTreeMap::new)
        .entry(CONTROLLER_UID_LABEL.into())
        .or_insert(uid);
}

fn invalid_raw(
    field: impl Into<String>,
    rendered: String,
    detail: impl Into<String>,
) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.into(),
        value: Some(rendered),
        detail: detail.into(),
    }
}

/// `validateGeneratedSelector`.
fn validate_generated_selector(job: &Job, errs: &mut Vec<FieldError>) {
    let spec = job.spec.clone().unwrap_or_default();
    if spec.manual_selector == Some(true) {
        return;
    }
    let Some(sel) = spec.selector.as_ref() else {
        return;
    };
    let uid = job.metadata.uid.clone().unwrap_or_default();
    let name = job.metadata.name.clone().unwrap_or_default();
    if uid.is_empty() {
        errs.push(FieldError::required("metadata.uid", ""));
    }
    let labels = spec
        .template
        .metadata
        .as_ref()
        .and_then(|m| m.labels.as_ref());
    let mut expected = BTreeMap::new();
    for (key, want) in [
        (LEGACY_CONTROLLER_UID_LABEL, &uid),
        (LEGACY_JOB_NAME_LABEL, &name),
        (CONTROLLER_UID_LABEL, &uid),
        (JOB_NAME_LABEL, &name),
    ] {
        let field = format!("spec.template.metadata.labels[{key}]");
        match labels.and_then(|l| l.get(key)) {
            None => errs.push(FieldError::required(field, format!("must be '{want}'"))),
            Some(v) if v != want => errs.push(invalid_raw(
                field,
                pt::go_map(labels),
                format!("must be '{want}'"),
            )),
            Some(_) => {}
        }
        expected.insert(key.to_string(), want.clone());
    }
    if pt::selector_matches(Some(sel), Some(&expected)) == Some(false) {
        errs.push(invalid_raw(
            "spec.selector",
            pt::go_selector(sel),
            "`selector` not auto-generated",
        ));
    }
}

/// `validateJobSpec` for the spec at `path` (`spec`, or a CronJob's `spec.jobTemplate.spec`):
/// counts, completion mode, replacement policy, the pod template and its restart policy.
pub fn validate_job_spec(spec: &JobSpec, raw: &Value, path: &str, errs: &mut Vec<FieldError>) {
    let nonneg = |f: &str, v: Option<i32>, errs: &mut Vec<FieldError>| {
        pt::nonnegative(&format!("{path}.{f}"), v.map(i64::from), errs);
    };
    nonneg("parallelism", spec.parallelism, errs);
    nonneg("completions", spec.completions, errs);
    pt::nonnegative(
        &format!("{path}.activeDeadlineSeconds"),
        spec.active_deadline_seconds,
        errs,
    );
    nonneg("backoffLimit", spec.backoff_limit, errs);
    nonneg(
        "ttlSecondsAfterFinished",
        spec.ttl_seconds_after_finished,
        errs,
    );
    if let Some(mode) = spec.completion_mode.as_deref() {
        if mode != "NonIndexed" && mode != "Indexed" {
            errs.push(FieldError::not_supported(
                format!("{path}.completionMode"),
                mode,
                &["NonIndexed", "Indexed"],
            ));
        }
        if mode == "Indexed" && spec.completions.is_none() {
            errs.push(FieldError::required(
                format!("{path}.completions"),
                "when completion mode is Indexed",
            ));
        }
    }
    if let Some(p) = spec.pod_replacement_policy.as_deref() {
        if spec.pod_failure_policy.is_some() {
            if p != "Failed" {
                errs.push(FieldError::not_supported(
                    format!("{path}.podReplacementPolicy"),
                    p,
                    &["Failed"],
                ));
            }
        } else if p != "Failed" && p != "TerminatingOrFailed" {
            errs.push(FieldError::not_supported(
                format!("{path}.podReplacementPolicy"),
                p,
                &["Failed", "TerminatingOrFailed"],
            ));
        }
    }
    let template_pointer = format!("/{}/template", path.replace('.', "/"));
    pt::validate_template(
        raw.pointer(&template_pointer),
        &format!("{path}.template"),
        errs,
    );
    let restart = spec
        .template
        .spec
        .as_ref()
        .and_then(|s| s.restart_policy.as_deref())
        .unwrap_or_default();
    let field = format!("{path}.template.spec.restartPolicy");
    match restart {
        "" | "Always" => errs.push(FieldError::required(
            field,
            "valid values: \"OnFailure\", \"Never\"",
        )),
        "OnFailure" | "Never" => {
            if spec.pod_failure_policy.is_some() && restart != "Never" {
                errs.push(FieldError::invalid(
                    field,
                    restart,
                    "only \"Never\" is supported when podFailurePolicy is specified",
                ));
            }
        }
        other => errs.push(FieldError::not_supported(
            field,
            other,
            &["OnFailure", "Never"],
        )),
    }
}

fn validate_job(obj: &Value) -> Vec<FieldError> {
    let job: Job = typed(obj);
    let spec = job.spec.clone().unwrap_or_default();
    let mut errs = Vec::new();
    validate_generated_selector(&job, &mut errs);
    validate_job_spec(&spec, obj, "spec", &mut errs);
    match spec.selector.as_ref() {
        None => errs.push(FieldError::required("spec.selector", "")),
        Some(s) => pt::validate_selector(s, "spec.selector", &mut errs),
    }
    // An empty selector matches every template; a missing one matches none.
    let labels = pt::template_labels(obj, "/spec/template");
    if pt::selector_matches(spec.selector.as_ref(), labels.as_ref()) == Some(false) {
        errs.push(invalid_raw(
            "spec.template.metadata.labels",
            pt::go_map(labels.as_ref()),
            "`selector` does not match template `labels`",
        ));
    }
    errs
}

/// A Job's spec is fixed once created, but for the fields a learner may still change
/// (parallelism, activeDeadlineSeconds, suspend, backoffLimit, ttlSecondsAfterFinished).
fn validate_job_update(new: &Value, old: &Value, errs: &mut Vec<FieldError>) {
    let get = |v: &Value, f: &str| v.pointer(&format!("/spec/{f}")).cloned();
    if get(new, "completions") != get(old, "completions") {
        let shown = get(new, "completions")
            .filter(|v| !v.is_null())
            .map_or("null".to_string(), |v| v.to_string());
        errs.push(invalid_raw("spec.completions", shown, "field is immutable"));
    }
    pt::immutable_selector(new, old, errs);
    let suspended = old.pointer("/spec/suspend").and_then(Value::as_bool) == Some(true);
    if !suspended && get(new, "template") != get(old, "template") {
        // kube-apiserver prints the whole template with Go's %#v here; the embedded
        // cluster names its type and leaves the (unreadable) dump out.
        errs.push(invalid_raw(
            "spec.template",
            "core.PodTemplateSpec{...}".into(),
            "field is immutable",
        ));
    }
    for f in [
        "completionMode",
        "podFailurePolicy",
        "backoffLimitPerIndex",
        "managedBy",
        "successPolicy",
    ] {
        if get(new, f) != get(old, f) {
            let shown =
                get(new, f)
                    .filter(|v| !v.is_null())
                    .map_or("null".to_string(), |v| match v {
                        Value::String(s) => kq_kube::validation::quote(&s),
                        other => other.to_string(),
                    });
            errs.push(invalid_raw(
                format!("spec.{f}"),
                shown,
                "field is immutable",
            ));
        }
    }
}

/// The STATUS cell (kube-apiserver ≥ 1.30): Complete › Failed › Terminating › Suspended ›
/// FailureTarget › Running.
fn status_cell(job: &Job) -> &'static str {
    let has = |t: &str| {
        job.status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == t && c.status == "True"))
    };
    if has("Complete") {
        "Complete"
    } else if has("Failed") {
        "Failed"
    } else if job.metadata.deletion_timestamp.is_some() {
        "Terminating"
    } else if has("Suspended") {
        "Suspended"
    } else if has("FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    }
}

fn completions_cell(job: &Job) -> String {
    let succeeded = job.status.as_ref().and_then(|s| s.succeeded).unwrap_or(0);
    let spec = job.spec.clone().unwrap_or_default();
    match spec.completions {
        Some(c) => format!("{succeeded}/{c}"),
        None => {
            let parallelism = spec.parallelism.unwrap_or(0);
            if parallelism > 1 {
                format!("{succeeded}/1 of {parallelism}")
            } else {
                format!("{succeeded}/1")
            }
        }
    }
}

fn duration_cell(job: &Job, now: Timestamp) -> String {
    let status = job.status.clone().unwrap_or_default();
    let Some(start) = status.start_time else {
        return String::new();
    };
    let start = start.0;
    match status.completion_time {
        None => kq_kube::duration::since(start, now),
        Some(end) => kq_kube::duration::human_duration(end.0.duration_since(start).as_secs()),
    }
}

impl KindHooks for Hooks {
    fn default_gc_policy(&self) -> super::GcPolicy {
        super::GcPolicy::OrphanDependents {
            warning: Some(
                "child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning",
            ),
        }
    }

    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<Job>(value, "Job")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        *obj = defaulted(obj)?;
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        let mut job: Job = typed(obj);
        job.status = Some(JobStatus::default());
        if job.spec.as_ref().and_then(|s| s.manual_selector) != Some(true) {
            generate_selector(&mut job);
        }
        // Read back from storage, the job is defaulted again: with no labels of its own it
        // takes its template's, now including the generated ones.
        labels_from_template(&mut job);
        *obj = serde_json::to_value(&job).map_err(|e| crate::Error::Internal(e.to_string()))?;
        Ok(())
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate_job(obj)
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        if let Ok(v) = defaulted(new) {
            *new = v;
        }
        pt::keep_status(new, old);
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        let mut errs = validate_job(new);
        validate_job_update(new, old, &mut errs);
        errs
    }

    fn prepare_status_update(&self, new: &mut Value, old: &Value) {
        pt::status_update_keeping_spec(new, old, false);
    }

    fn field_value(&self, obj: &Value, field: &str) -> Option<String> {
        match field {
            "status.successful" => Some(
                obj.pointer("/status/succeeded")
                    .and_then(Value::as_i64)
                    .unwrap_or(0)
                    .to_string(),
            ),
            _ => None,
        }
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let job: Job = typed(obj);
        let (names, images) = pt::container_cells(obj, "/spec/template");
        let sel = pt::selector_at(obj, "/spec/selector");
        vec![
            json!(name_of(obj)),
            json!(status_cell(&job)),
            json!(completions_cell(&job)),
            json!(duration_cell(&job, now)),
            json!(age_of(obj, now)),
            json!(names),
            json!(images),
            json!(pt::format_selector(sel.as_ref())),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pi() -> Value {
        json!({
            "metadata": {"name": "pi", "namespace": "default"},
            "spec": {"template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "pi", "image": "busybox:1.36"}]}}}
        })
    }

    fn created(v: &Value) -> Value {
        let mut v = defaulted(v).expect("defaults");
        v["metadata"]["uid"] = json!("0b6c7ae1-1111-2222-3333-444455556666");
        let clock = crate::clock::Clock::new(0.0);
        let store = crate::Store::new(std::sync::Arc::new(clock), String::new(), 10);
        let ctx = CreateContext {
            store: &store,
            now: Timestamp::UNIX_EPOCH,
        };
        Hooks.prepare_create(&mut v, &ctx).expect("create");
        v
    }

    fn messages(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_the_generated_selector() {
        let v = created(&pi());
        let spec = &v["spec"];
        assert_eq!(spec["completions"], 1);
        assert_eq!(spec["parallelism"], 1);
        assert_eq!(spec["backoffLimit"], 6);
        assert_eq!(spec["completionMode"], "NonIndexed");
        assert_eq!(spec["suspend"], false);
        assert_eq!(spec["podReplacementPolicy"], "TerminatingOrFailed");
        let uid = "0b6c7ae1-1111-2222-3333-444455556666";
        assert_eq!(
            spec["selector"],
            json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        );
        let want = json!({"batch.kubernetes.io/controller-uid": uid, "batch.kubernetes.io/job-name": "pi", "controller-uid": uid, "job-name": "pi"});
        assert_eq!(spec["template"]["metadata"]["labels"], want);
        assert_eq!(
            v["metadata"]["labels"], want,
            "the job takes its template's labels"
        );
        assert!(
            validate_job(&v).is_empty(),
            "{:?}",
            messages(&validate_job(&v))
        );
    }

    #[test]
    fn restart_policy_and_manual_selectors() {
        let mut always = pi();
        always["spec"]["template"]["spec"]
            .as_object_mut()
            .expect("spec")
            .remove("restartPolicy");
        assert_eq!(
            messages(&validate_job(&created(&always))),
            vec![
                "spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\""
            ]
        );
        let mut chosen = pi();
        chosen["spec"]["selector"] = json!({"matchLabels": {"app": "pi"}});
        chosen["spec"]["template"]["metadata"] = json!({"labels": {"app": "pi"}});
        let errs = messages(&validate_job(&created(&chosen)));
        assert_eq!(
            errs.last().map(String::as_str),
            Some(
                "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"pi\", \"batch.kubernetes.io/controller-uid\":\"0b6c7ae1-1111-2222-3333-444455556666\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` not auto-generated"
            ),
            "{errs:?}"
        );
    }

    #[test]
    fn cells_follow_the_1_33_printer() {
        let mut v = created(&pi());
        v["metadata"]["creationTimestamp"] = json!("2026-01-01T00:00:00Z");
        let now: Timestamp = "2026-01-01T00:01:00Z".parse().expect("time");
        let cells = Hooks.cells(&v, now);
        assert_eq!(
            cells[..5],
            [
                json!("pi"),
                json!("Running"),
                json!("0/1"),
                json!(""),
                json!("60s")
            ]
        );
        v["status"] = json!({"startTime": "2026-01-01T00:00:01Z", "completionTime": "2026-01-01T00:00:13Z", "succeeded": 1,
            "conditions": [{"type": "SuccessCriteriaMet", "status": "True"}, {"type": "Complete", "status": "True"}]});
        let cells = Hooks.cells(&v, now);
        assert_eq!(
            cells[..4],
            [json!("pi"), json!("Complete"), json!("1/1"), json!("12s")]
        );
        assert_eq!(
            Hooks.field_value(&v, "status.successful").as_deref(),
            Some("1")
        );
    }
}
