//! CronJobs (batch/v1): scheme defaults, validation (the schedule through the same cron parser
//! the CronJob controller uses, the time zone, the job template), update and status
//! strategies, and the kubectl table. Kubernetes keeps the same in
//! `pkg/apis/batch/v1/defaults.go` (`SetDefaults_CronJob`),
//! `pkg/apis/batch/validation/validation.go` (`ValidateCronJobCreate`,
//! `validateScheduleFormat`, `validateTimeZone`, `ValidateJobTemplateSpec`),
//! `pkg/registry/batch/cronjob/strategy.go` and `pkg/printers/internalversion/printers.go`
//! (`printCronJob`).

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, CronJobStatus};
use kq_kube::validation::{FieldError, FieldErrorKind, quote};
use serde_json::{Value, json};

use super::podtemplate as pt;
use super::{
    Column, CreateContext, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, Subresource,
    age_column, age_of, col, name_column, name_of, typed,
};
use crate::strict::DecodeError;

/// The cronjobs resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "batch",
    version: "v1",
    plural: "cronjobs",
    singular: "cronjob",
    kind: "CronJob",
    namespaced: true,
    short_names: &["cj"],
    categories: &["all"],
    verbs: STANDARD_VERBS,
    subresources: &[Subresource {
        name: "status",
        kind: "CronJob",
        verbs: &["get", "patch", "update"],
    }],
    name_rule: NameRule::Subdomain,
    tracks_generation: true,
    hooks: &Hooks,
};

/// Server-side behaviour of cronjobs.
pub struct Hooks;

static COLUMNS: &[Column] = &[
    name_column(),
    col(
        "Schedule",
        "string",
        "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.",
        0,
    ),
    col(
        "Timezone",
        "string",
        "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process.",
        0,
    ),
    col(
        "Suspend",
        "boolean",
        "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.",
        0,
    ),
    col(
        "Active",
        "integer",
        "A list of pointers to currently running jobs.",
        0,
    ),
    col(
        "Last Schedule",
        "string",
        "Information when was the last time the job was successfully scheduled.",
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

/// `SetDefaults_CronJob` plus the job template's pod-spec defaults (the job template's own
/// fields, such as `backoffLimit`, are not defaulted by the API).
pub fn default_cron_job(cj: &mut CronJob) {
    let spec = cj.spec.get_or_insert_with(CronJobSpec::default);
    spec.concurrency_policy
        .get_or_insert_with(|| "Allow".into());
    spec.suspend.get_or_insert(false);
    spec.successful_jobs_history_limit.get_or_insert(3);
    spec.failed_jobs_history_limit.get_or_insert(1);
    if let Some(js) = spec.job_template.spec.as_mut() {
        pt::default_template(&mut js.template);
    }
}

fn defaulted(obj: &Value) -> crate::Result<Value> {
    let mut cj: CronJob = typed(obj);
    default_cron_job(&mut cj);
    serde_json::to_value(&cj).map_err(|e| crate::Error::Internal(e.to_string()))
}

fn invalid_raw(field: &str, rendered: String, detail: impl Into<String>) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field: field.into(),
        value: Some(rendered),
        detail: detail.into(),
    }
}

/// `validateScheduleFormat`.
fn validate_schedule(
    schedule: &str,
    allow_tz: bool,
    time_zone: Option<&str>,
    errs: &mut Vec<FieldError>,
) {
    if let Err(e) = kq_kube::cron::Schedule::parse(schedule) {
        errs.push(FieldError::invalid(
            "spec.schedule",
            schedule,
            e.to_string(),
        ));
    }
    if allow_tz && schedule.contains("TZ") && time_zone.is_some() {
        errs.push(FieldError::invalid(
            "spec.schedule",
            schedule,
            "cannot use both timeZone field and TZ or CRON_TZ in schedule",
        ));
    } else if !allow_tz && schedule.contains("TZ") {
        errs.push(FieldError::invalid(
            "spec.schedule",
            schedule,
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead",
        ));
    }
}

/// `validateTimeZone`: an IANA name the time zone database knows.
fn validate_time_zone(tz: &str, errs: &mut Vec<FieldError>) {
    if tz.is_empty() {
        errs.push(FieldError::invalid(
            "spec.timeZone",
            tz,
            "timeZone must be nil or non-empty string",
        ));
        return;
    }
    let valid_part = |p: &str| {
        p != "."
            && p != ".."
            && !p.starts_with('-')
            && !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+'))
            && p.len() <= 14
    };
    if !tz.split('/').all(valid_part) {
        errs.push(FieldError::invalid(
            "spec.timeZone",
            tz,
            format!("unknown time zone {tz}"),
        ));
    }
    if tz.eq_ignore_ascii_case("Local") {
        errs.push(FieldError::invalid(
            "spec.timeZone",
            tz,
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones",
        ));
    } else if jiff::tz::db().get(tz).is_err() {
        errs.push(FieldError::invalid(
            "spec.timeZone",
            tz,
            format!("unknown time zone {tz}"),
        ));
    }
}

fn validate_cron_job(obj: &Value, old: Option<&Value>) -> Vec<FieldError> {
    let cj: CronJob = typed(obj);
    let spec = cj.spec.clone().unwrap_or_default();
    let mut errs = Vec::new();
    if spec.schedule.is_empty() {
        errs.push(FieldError::required("spec.schedule", ""));
    } else {
        let allow_tz = old
            .and_then(|o| o.pointer("/spec/schedule"))
            .and_then(Value::as_str)
            .is_some_and(|s| s.contains("TZ"));
        validate_schedule(
            &spec.schedule,
            allow_tz,
            spec.time_zone.as_deref(),
            &mut errs,
        );
    }
    pt::nonnegative(
        "spec.startingDeadlineSeconds",
        spec.starting_deadline_seconds,
        &mut errs,
    );
    let old_tz = old.and_then(|o| o.pointer("/spec/timeZone"));
    if let Some(tz) = spec.time_zone.as_deref()
        && old_tz.and_then(Value::as_str) != Some(tz)
    {
        validate_time_zone(tz, &mut errs);
    }
    match spec.concurrency_policy.as_deref().unwrap_or_default() {
        "Allow" | "Forbid" | "Replace" => {}
        "" => errs.push(FieldError::required("spec.concurrencyPolicy", "")),
        other => errs.push(FieldError::not_supported(
            "spec.concurrencyPolicy",
            other,
            &["Allow", "Forbid", "Replace"],
        )),
    }
    let job_spec = spec.job_template.spec.clone().unwrap_or_default();
    super::job::validate_job_spec(&job_spec, obj, "spec.jobTemplate.spec", &mut errs);
    if let Some(sel) = job_spec.selector.as_ref() {
        errs.push(invalid_raw(
            "spec.jobTemplate.spec.selector",
            pt::go_selector(sel),
            "`selector` will be auto-generated",
        ));
    }
    if job_spec.manual_selector == Some(true) {
        errs.push(FieldError {
            kind: FieldErrorKind::NotSupported,
            field: "spec.jobTemplate.spec.manualSelector".into(),
            value: Some("true".into()),
            detail: format!("supported values: {}, {}", quote("nil"), quote("false")),
        });
    }
    pt::nonnegative(
        "spec.successfulJobsHistoryLimit",
        spec.successful_jobs_history_limit.map(i64::from),
        &mut errs,
    );
    pt::nonnegative(
        "spec.failedJobsHistoryLimit",
        spec.failed_jobs_history_limit.map(i64::from),
        &mut errs,
    );
    errs
}

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        super::typed_decode::<CronJob>(value, "CronJob")
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        *obj = defaulted(obj)?;
        Ok(())
    }

    fn prepare_create(&self, obj: &mut Value, _ctx: &CreateContext<'_>) -> crate::Result<()> {
        pt::empty_status::<CronJobStatus>(obj)
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        let mut errs = validate_cron_job(obj, None);
        // The controller appends an 11-character suffix to name each job; a job name is a
        // 63-character label at most.
        let name = name_of(obj);
        if name.len() > 52 {
            errs.push(FieldError::invalid(
                "metadata.name",
                name,
                "must be no more than 52 characters",
            ));
        }
        errs
    }

    fn prepare_update(&self, new: &mut Value, old: &Value) {
        if let Ok(v) = defaulted(new) {
            *new = v;
        }
        pt::keep_status(new, old);
    }

    fn validate_update(&self, new: &Value, old: &Value) -> Vec<FieldError> {
        validate_cron_job(new, Some(old))
    }

    fn prepare_status_update(&self, new: &mut Value, old: &Value) {
        pt::status_update_keeping_spec(new, old, false);
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, now: Timestamp) -> Vec<Value> {
        let cj: CronJob = typed(obj);
        let spec = cj.spec.clone().unwrap_or_default();
        let status = cj.status.clone().unwrap_or_default();
        let last = match status.last_schedule_time {
            Some(t) => kq_kube::duration::since(t.0, now),
            None => "<none>".into(),
        };
        let suspend = match spec.suspend {
            Some(true) => "True",
            Some(false) => "False",
            None => "<unset>",
        };
        let (names, images) = pt::container_cells(obj, "/spec/jobTemplate/spec/template");
        let sel = pt::selector_at(obj, "/spec/jobTemplate/spec/selector");
        vec![
            json!(name_of(obj)),
            json!(spec.schedule),
            json!(spec.time_zone.unwrap_or_else(|| "<none>".into())),
            json!(suspend),
            json!(status.active.map_or(0, |a| a.len())),
            json!(last),
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

    fn hello(schedule: &str) -> Value {
        json!({
            "metadata": {"name": "hello", "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"schedule": schedule, "jobTemplate": {"metadata": {"name": "hello"}, "spec": {"template": {"spec": {
                "restartPolicy": "OnFailure", "containers": [{"name": "hello", "image": "busybox:1.36"}]}}}}}
        })
    }

    fn messages(v: &Value) -> Vec<String> {
        Hooks.validate(v).iter().map(ToString::to_string).collect()
    }

    #[test]
    fn defaults_and_validation() {
        let v = defaulted(&hello("*/5 * * * *")).expect("defaults");
        assert_eq!(v["spec"]["concurrencyPolicy"], "Allow");
        assert_eq!(v["spec"]["suspend"], false);
        assert_eq!(v["spec"]["successfulJobsHistoryLimit"], 3);
        assert_eq!(v["spec"]["failedJobsHistoryLimit"], 1);
        assert!(
            v["spec"]["jobTemplate"]["spec"]
                .get("backoffLimit")
                .is_none(),
            "the job template's own fields are not defaulted"
        );
        assert_eq!(
            v["spec"]["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"],
            "ClusterFirst"
        );
        assert!(messages(&v).is_empty(), "{:?}", messages(&v));
        let bad = defaulted(&hello("*/5 * * *")).expect("defaults");
        assert_eq!(
            messages(&bad),
            vec![
                "spec.schedule: Invalid value: \"*/5 * * *\": expected exactly 5 fields, found 4: [*/5 * * *]"
            ]
        );
        let mut tz = hello("0 9 * * *");
        tz["spec"]["timeZone"] = json!("Mars/Olympus");
        let tz = defaulted(&tz).expect("defaults");
        assert_eq!(
            messages(&tz),
            vec!["spec.timeZone: Invalid value: \"Mars/Olympus\": unknown time zone Mars/Olympus"]
        );
    }

    #[test]
    fn cells() {
        let mut v = defaulted(&hello("*/5 * * * *")).expect("defaults");
        let now: Timestamp = "2026-01-01T00:10:00Z".parse().expect("time");
        assert_eq!(
            Hooks.cells(&v, now)[..7],
            [
                json!("hello"),
                json!("*/5 * * * *"),
                json!("<none>"),
                json!("False"),
                json!(0),
                json!("<none>"),
                json!("10m")
            ]
        );
        v["status"] = json!({"lastScheduleTime": "2026-01-01T00:05:00Z", "active": [{"name": "hello-29474885"}]});
        let cells = Hooks.cells(&v, now);
        assert_eq!(cells[4], json!(1));
        assert_eq!(cells[5], json!("5m"));
    }
}
