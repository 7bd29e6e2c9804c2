//! LimitRanges: the kind's scheme defaults (a Container item's `default` from `max`, its
//! `defaultRequest` from `default`, then from `min`), its validation with kube-apiserver's
//! texts, and the generic `NAME  CREATED AT` table (the kind has no printer of its own).
//!
//! Kubernetes keeps these in `pkg/apis/core/v1/defaults.go` (`SetDefaults_LimitRangeItem`),
//! `pkg/apis/core/validation/validation.go` (`ValidateLimitRange`) and, for the table,
//! `k8s.io/apiserver/pkg/registry/rest/table.go` (the default table convertor).

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::LimitRange;
use serde_json::{Map, Value, json};

use super::{Column, KindHooks, NameRule, ResourceKind, STANDARD_VERBS, col, name_column, name_of};
use crate::strict::DecodeError;
use kq_kube::quantity::Quantity;
use kq_kube::validation::{FieldError, FieldErrorKind};

/// The limitranges resource.
pub static KIND: ResourceKind = ResourceKind {
    group: "",
    version: "v1",
    plural: "limitranges",
    singular: "limitrange",
    kind: "LimitRange",
    namespaced: true,
    short_names: &["limits"],
    categories: &[],
    verbs: STANDARD_VERBS,
    subresources: &[],
    name_rule: NameRule::Subdomain,
    tracks_generation: false,
    hooks: &Hooks,
};

/// Server-side behaviour of limitranges.
pub struct Hooks;

static COLUMNS: &[Column] = &[name_column(), col("Created At", "date", super::AGE_DESC, 0)];

const MAPS: &[&str] = &[
    "max",
    "min",
    "default",
    "defaultRequest",
    "maxLimitRequestRatio",
];

impl KindHooks for Hooks {
    fn decode(&self, value: &Value) -> Result<(Value, Vec<String>), DecodeError> {
        if let Some(items) = value.pointer("/spec/limits").and_then(Value::as_array) {
            for item in items {
                let ptrs: Vec<String> = MAPS.iter().map(|m| format!("/{m}")).collect();
                let ptrs: Vec<&str> = ptrs.iter().map(String::as_str).collect();
                super::resourcequota::check_quantity_maps(item, &ptrs)?;
            }
        }
        let (mut v, unknown) = super::typed_decode::<LimitRange>(value, "LimitRange")?;
        for item in v
            .pointer_mut("/spec/limits")
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            for m in MAPS {
                for q in item
                    .get_mut(*m)
                    .and_then(Value::as_object_mut)
                    .into_iter()
                    .flat_map(|o| o.values_mut())
                {
                    if let Some(c) = q.as_str().and_then(kq_kube::quantity::canonical) {
                        *q = json!(c);
                    }
                }
            }
        }
        Ok((v, unknown))
    }

    fn default(&self, obj: &mut Value) -> crate::Result<()> {
        default_items(obj);
        Ok(())
    }

    fn prepare_update(&self, new: &mut Value, _old: &Value) {
        // The scheme defaults every decoded object, updates included; the kind has no status.
        default_items(new);
    }

    fn validate(&self, obj: &Value) -> Vec<FieldError> {
        validate(obj)
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn cells(&self, obj: &Value, _now: Timestamp) -> Vec<Value> {
        vec![
            json!(name_of(obj)),
            json!(super::str_at(obj, "/metadata/creationTimestamp")),
        ]
    }
}

/// `SetDefaults_LimitRangeItem`: for Container items, `default` ← `max`, then
/// `defaultRequest` ← `default`, then ← `min`.
fn default_items(obj: &mut Value) {
    for item in obj
        .pointer_mut("/spec/limits")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if item.get("type").and_then(Value::as_str) != Some("Container") {
            continue;
        }
        let map = |item: &Value, k: &str| -> Map<String, Value> {
            item.get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        let mut default = map(item, "default");
        for (k, v) in map(item, "max") {
            default.entry(k).or_insert(v);
        }
        let mut request = map(item, "defaultRequest");
        for (k, v) in default.iter().chain(map(item, "min").iter()) {
            request.entry(k.clone()).or_insert(v.clone());
        }
        if !default.is_empty() {
            item["default"] = Value::Object(default);
        }
        if !request.is_empty() {
            item["defaultRequest"] = Value::Object(request);
        }
    }
}

/// Go's `%#v` of a `resource.Quantity` decoded from `text`, which is how kube-apiserver shows
/// a quantity as a field error's value (`Quantity.String` has a pointer receiver, so the field
/// error printer falls back to the raw struct). Follows `ParseQuantity`'s fast path, including
/// when it keeps the original string.
pub fn go_quantity_value(text: &str) -> String {
    let t = text.trim();
    let (positive, body) = match t.as_bytes().first() {
        Some(b'-') => (false, &t[1..]),
        Some(b'+') => (true, &t[1..]),
        _ => (true, t),
    };
    let body = body.trim_start_matches('0');
    let num_end = body
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(body.len());
    let mut num = &body[..num_end];
    if num.is_empty() {
        num = "0";
    }
    let rest = &body[num_end..];
    let (denom, suffix) = match rest.strip_prefix('.') {
        Some(r) => {
            let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
            (&r[..end], &r[end..])
        }
        None => ("", rest),
    };
    let (binary, exponent, format) = match suffix {
        "" => (false, 0, "DecimalSI"),
        "n" => (false, -9, "DecimalSI"),
        "u" => (false, -6, "DecimalSI"),
        "m" => (false, -3, "DecimalSI"),
        "k" => (false, 3, "DecimalSI"),
        "M" => (false, 6, "DecimalSI"),
        "G" => (false, 9, "DecimalSI"),
        "T" => (false, 12, "DecimalSI"),
        "P" => (false, 15, "DecimalSI"),
        "E" => (false, 18, "DecimalSI"),
        "Ki" => (true, 10, "BinarySI"),
        "Mi" => (true, 20, "BinarySI"),
        "Gi" => (true, 30, "BinarySI"),
        "Ti" => (true, 40, "BinarySI"),
        "Pi" => (true, 50, "BinarySI"),
        "Ei" => (true, 60, "BinarySI"),
        s => (
            false,
            s.get(1..).and_then(|e| e.parse::<i32>().ok()).unwrap_or(0),
            "DecimalExponent",
        ),
    };
    let digits = i32::try_from(num.len() + denom.len()).unwrap_or(i32::MAX);
    let (precision, mut scale, mantissa): (i32, i32, i64) = if binary {
        if denom.is_empty() {
            let p = 15 - i32::try_from(num.len()).unwrap_or(i32::MAX) - exponent * 3 / 10 - 1;
            (p, 0, 1i64 << exponent)
        } else {
            (-1, 0, 1)
        }
    } else {
        (18 - digits, exponent, 1)
    };
    let fast = (|| {
        if precision < 0 {
            return None;
        }
        scale -= i32::try_from(denom.len()).ok()?;
        if scale < -9 {
            return None;
        }
        let shifted = format!("{num}{denom}");
        let value: i64 = shifted.parse().ok()?;
        let mut result = value.checked_mul(mantissa)?;
        if !positive {
            result = -result;
        }
        let canonical = if binary {
            exponent % 10 == 0 && value & 0x07 != 0
        } else {
            scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0')
        };
        let s = if canonical { text } else { "" };
        Some(format!(
            "resource.Quantity{{i:resource.int64Amount{{value:{result}, scale:{scale}}}, d:resource.infDecAmount{{Dec:(*inf.Dec)(nil)}}, s:{s:?}, Format:{format:?}}}"
        ))
    })();
    fast.unwrap_or_else(|| {
        format!(
            "resource.Quantity{{i:resource.int64Amount{{value:0, scale:0}}, d:resource.infDecAmount{{Dec:(*inf.Dec)(0xc000a1c0a0)}}, s:\"\", Format:{format:?}}}"
        )
    })
}

fn invalid_quantity(field: String, text: &str, detail: String) -> FieldError {
    FieldError {
        kind: FieldErrorKind::Invalid,
        field,
        value: Some(go_quantity_value(text)),
        detail,
    }
}

/// `IsStandardContainerResourceName`.
fn standard_container_resource(name: &str) -> bool {
    ["cpu", "memory", "ephemeral-storage"].contains(&name) || name.starts_with("hugepages-")
}

/// `validateLimitRangeResourceName`.
fn resource_name_errors(limit_type: &str, name: &str, field: &str) -> Vec<FieldError> {
    let mut errs: Vec<FieldError> = kq_kube::validation::qualified_name(name)
        .into_iter()
        .map(|e| FieldError::invalid(field, name, e))
        .collect();
    if limit_type == "Pod" || limit_type == "Container" {
        if !name.contains('/') {
            if !standard_container_resource(name) {
                errs.push(FieldError::invalid(
                    field,
                    name,
                    "must be a standard resource for containers",
                ));
            }
        } else {
            let domain = name.split('/').next().unwrap_or_default();
            let native = domain == "kubernetes.io" || domain.ends_with(".kubernetes.io");
            if !native && name.starts_with("requests.") {
                errs.push(FieldError::invalid(
                    field,
                    name,
                    "doesn't follow extended resource name standard",
                ));
            }
        }
    }
    errs
}

/// Resources that may not be overcommitted (`IsOvercommitAllowed` is false): hugepages and
/// extended resources.
fn overcommit_allowed(name: &str) -> bool {
    let domain = name.split('/').next().unwrap_or_default();
    let native =
        !name.contains('/') || domain == "kubernetes.io" || domain.ends_with(".kubernetes.io");
    native && !name.starts_with("hugepages-")
}

/// `ValidateLimitRange` (the item checks; names and labels are checked generically).
fn validate(obj: &Value) -> Vec<FieldError> {
    let mut errs = Vec::new();
    let mut types = BTreeSet::new();
    let items = obj
        .pointer("/spec/limits")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        let path = format!("spec.limits[{i}]");
        let ty = super::str_at(item, "/type");
        if ty.is_empty() {
            errs.push(FieldError::required(format!("{path}.type"), ""));
        } else {
            for e in kq_kube::validation::qualified_name(ty) {
                errs.push(FieldError::invalid(format!("{path}.type"), ty, e));
            }
            if !ty.contains('/') && !["Pod", "Container", "PersistentVolumeClaim"].contains(&ty) {
                errs.push(FieldError::invalid(
                    format!("{path}.type"),
                    ty,
                    "must be a standard limit type or fully qualified",
                ));
            }
        }
        if !types.insert(ty.to_string()) {
            errs.push(FieldError::duplicate(format!("{path}.type"), ty));
        }
        let read = |k: &str| -> BTreeMap<String, String> {
            item.get(k)
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        };
        let (max, min) = (read("max"), read("min"));
        let mut keys = BTreeSet::new();
        for (section, m) in [("max", &max), ("min", &min)] {
            for k in m.keys() {
                errs.extend(resource_name_errors(
                    ty,
                    k,
                    &format!("{path}.{section}[{k}]"),
                ));
                keys.insert(k.clone());
            }
        }
        let (mut defaults, mut requests) = (BTreeMap::new(), BTreeMap::new());
        if ty == "Pod" {
            if !read("default").is_empty() {
                errs.push(FieldError::forbidden(
                    format!("{path}.default"),
                    "may not be specified when `type` is 'Pod'",
                ));
            }
            if !read("defaultRequest").is_empty() {
                errs.push(FieldError::forbidden(
                    format!("{path}.defaultRequest"),
                    "may not be specified when `type` is 'Pod'",
                ));
            }
        } else {
            defaults = read("default");
            requests = read("defaultRequest");
            for (section, m) in [("default", &defaults), ("defaultRequest", &requests)] {
                for k in m.keys() {
                    errs.extend(resource_name_errors(
                        ty,
                        k,
                        &format!("{path}.{section}[{k}]"),
                    ));
                    keys.insert(k.clone());
                }
            }
        }
        if ty == "PersistentVolumeClaim"
            && !min.contains_key("storage")
            && !max.contains_key("storage")
        {
            errs.push(FieldError::required(
                format!("{path}.limits"),
                "either minimum or maximum storage value is required, but neither was provided",
            ));
        }
        let ratios = read("maxLimitRequestRatio");
        for k in ratios.keys() {
            errs.extend(resource_name_errors(
                ty,
                k,
                &format!("{path}.maxLimitRequestRatio[{k}]"),
            ));
            keys.insert(k.clone());
        }
        let q = |m: &BTreeMap<String, String>, k: &str| {
            m.get(k)
                .and_then(|s| Some((s.clone(), Quantity::parse(s)?)))
        };
        for k in &keys {
            let (mn, mx, df, dr, ratio) = (
                q(&min, k),
                q(&max, k),
                q(&defaults, k),
                q(&requests, k),
                q(&ratios, k),
            );
            if let (Some(mn), Some(mx)) = (&mn, &mx)
                && mn.1 > mx.1
            {
                errs.push(invalid_quantity(
                    format!("{path}.min[{k}]"),
                    &mn.0,
                    format!("min value {} is greater than max value {}", mn.0, mx.0),
                ));
            }
            if let (Some(dr), Some(mn)) = (&dr, &mn)
                && mn.1 > dr.1
            {
                errs.push(invalid_quantity(
                    format!("{path}.defaultRequest[{k}]"),
                    &dr.0,
                    format!(
                        "min value {} is greater than default request value {}",
                        mn.0, dr.0
                    ),
                ));
            }
            if let (Some(dr), Some(mx)) = (&dr, &mx)
                && dr.1 > mx.1
            {
                errs.push(invalid_quantity(
                    format!("{path}.defaultRequest[{k}]"),
                    &dr.0,
                    format!(
                        "default request value {} is greater than max value {}",
                        dr.0, mx.0
                    ),
                ));
            }
            if let (Some(dr), Some(df)) = (&dr, &df)
                && dr.1 > df.1
            {
                errs.push(invalid_quantity(
                    format!("{path}.defaultRequest[{k}]"),
                    &dr.0,
                    format!(
                        "default request value {} is greater than default limit value {}",
                        dr.0, df.0
                    ),
                ));
            }
            if let (Some(df), Some(mn)) = (&df, &mn)
                && mn.1 > df.1
            {
                errs.push(invalid_quantity(
                    format!("{path}.default[{k}]"),
                    &mn.0,
                    format!("min value {} is greater than default value {}", mn.0, df.0),
                ));
            }
            if let (Some(df), Some(mx)) = (&df, &mx)
                && df.1 > mx.1
            {
                errs.push(invalid_quantity(
                    format!("{path}.default[{k}]"),
                    &mx.0,
                    format!("default value {} is greater than max value {}", df.0, mx.0),
                ));
            }
            if let Some(r) = &ratio
                && r.1 < Quantity(1_000_000_000)
            {
                errs.push(invalid_quantity(
                    format!("{path}.maxLimitRequestRatio[{k}]"),
                    &r.0,
                    format!("ratio {} is less than 1", r.0),
                ));
            }
            if let (Some(r), Some(mn), Some(mx)) = (&ratio, &mn, &mx) {
                let (mut top, mut bottom) = (mx.1.value() as f64, mn.1.value());
                if mx.1.value() < MAX_MILLI && mn.1.value() < MAX_MILLI {
                    top = mx.1.milli_value() as f64;
                    bottom = mn.1.milli_value();
                }
                let limit = top / bottom as f64;
                if r.1.value() > limit as i128 {
                    errs.push(invalid_quantity(
                        format!("{path}.maxLimitRequestRatio[{k}]"),
                        &r.0,
                        format!("ratio {} is greater than max/min = {limit:.6}", r.0),
                    ));
                }
            }
            if !overcommit_allowed(k)
                && let (Some(df), Some(dr)) = (&df, &dr)
                && df.1 != dr.1
            {
                errs.push(invalid_quantity(
                    format!("{path}.defaultRequest[{k}]"),
                    &dr.0,
                    format!(
                        "default value {} must equal to defaultRequest value {} in {k}",
                        df.0, dr.0
                    ),
                ));
            }
        }
    }
    errs
}

/// `resource.MaxMilliValue`: past it, comparisons fall back to whole units.
pub const MAX_MILLI: i128 = i64::MAX as i128 / 1000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_items_default_from_max_default_and_min() {
        let mut lr = json!({"spec": {"limits": [
            {"type": "Container", "max": {"cpu": "1"}, "min": {"memory": "64Mi"}},
            {"type": "Pod", "max": {"cpu": "2"}}]}});
        default_items(&mut lr);
        assert_eq!(lr["spec"]["limits"][0]["default"], json!({"cpu": "1"}));
        assert_eq!(
            lr["spec"]["limits"][0]["defaultRequest"],
            json!({"cpu": "1", "memory": "64Mi"})
        );
        assert!(lr["spec"]["limits"][1].get("default").is_none());
    }

    #[test]
    fn quantities_print_as_go_structs_in_field_errors() {
        assert_eq!(
            go_quantity_value("1000Mi"),
            "resource.Quantity{i:resource.int64Amount{value:1048576000, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"\", Format:\"BinarySI\"}"
        );
        assert_eq!(
            go_quantity_value("1Gi"),
            "resource.Quantity{i:resource.int64Amount{value:1073741824, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"1Gi\", Format:\"BinarySI\"}"
        );
        assert_eq!(
            go_quantity_value("500m"),
            "resource.Quantity{i:resource.int64Amount{value:500, scale:-3}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"500m\", Format:\"DecimalSI\"}"
        );
    }

    #[test]
    fn defaults_above_max_and_min_above_max_are_refused() {
        let mut lr = json!({"spec": {"limits": [
            {"type": "Container", "max": {"cpu": "1"}, "min": {"cpu": "2"}, "default": {"memory": "2Gi"}, "defaultRequest": {"memory": "3Gi"}},
            {"type": "Container"},
            {"type": "PersistentVolumeClaim", "max": {"cpu": "1"}}]}});
        default_items(&mut lr);
        let msgs: Vec<String> = validate(&lr).iter().map(ToString::to_string).collect();
        let want = [
            "spec.limits[0].min[cpu]: Invalid value: resource.Quantity{i:resource.int64Amount{value:2, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"2\", Format:\"DecimalSI\"}: min value 2 is greater than max value 1",
            "spec.limits[0].defaultRequest[memory]: Invalid value: resource.Quantity{i:resource.int64Amount{value:3221225472, scale:0}, d:resource.infDecAmount{Dec:(*inf.Dec)(nil)}, s:\"3Gi\", Format:\"BinarySI\"}: default request value 3Gi is greater than default limit value 2Gi",
            "spec.limits[1].type: Duplicate value: \"Container\"",
            "spec.limits[2].limits: Required value: either minimum or maximum storage value is required, but neither was provided",
        ];
        for w in want {
            assert!(msgs.iter().any(|m| m == w), "{w}\n in {msgs:#?}");
        }
    }
}
