//! The ClusterRole aggregation controller: a ClusterRole with an `aggregationRule` gets, as
//! its `rules`, the union of the rules of every ClusterRole its selectors pick
//! (kube-controller-manager's `clusterrole-aggregation`,
//! `pkg/controller/clusterroleaggregation/clusterroleaggregation_controller.go`).
//!
//! This is how `admin`, `edit` and `view` get their rules from `system:aggregate-to-*`, and
//! how a learner's ClusterRole labelled `rbac.authorization.k8s.io/aggregate-to-view: "true"`
//! extends `view` (and, through `view`'s own label, `edit` and `admin`). The selected roles
//! are taken in name order, and a rule already gathered is not added twice. It runs in the
//! control plane, so the aggregate is up to date when the write that changed a source role
//! returns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

use crate::kinds;
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::store::Store;

/// The aggregation controller, keyed by ClusterRole name.
#[derive(Debug, Default)]
pub(crate) struct ClusterRoleAggregation {
    /// The ClusterRoles with an `aggregationRule` and their selectors, kept from the changes
    /// the controller sees (its informer lists every ClusterRole first).
    aggregated: BTreeMap<String, Vec<LabelSelector>>,
    /// The roles each aggregate gathered from when last reconciled.
    gathered: BTreeMap<String, BTreeSet<String>>,
}

/// The rules `role`'s selectors gather (selected roles in name order, each rule once), and
/// the roles they came from.
fn gathered_rules(store: &Store, role: &ClusterRole) -> (Vec<PolicyRule>, BTreeSet<String>) {
    let own = role.metadata.name.as_deref().unwrap_or_default();
    let selectors = role
        .aggregation_rule
        .as_ref()
        .and_then(|a| a.cluster_role_selectors.as_deref())
        .unwrap_or_default();
    let mut selected: BTreeMap<String, ClusterRole> = BTreeMap::new();
    // Only the roles a selector picks are decoded whole; the others are read for their labels.
    for raw in store.list_raw(&kinds::clusterrole::KIND, None) {
        let name = kinds::name_of(&raw);
        if name == own {
            continue;
        }
        let labels = crate::workload::labels_map(raw.pointer("/metadata/labels"));
        if selectors.iter().any(|s| {
            kq_kube::selectors::label_selector_matches(s, labels.as_ref()).unwrap_or(false)
        }) && let Ok(candidate) = serde_json::from_value::<ClusterRole>((*raw).clone())
        {
            selected.insert(name.to_string(), candidate);
        }
    }
    let mut rules: Vec<PolicyRule> = Vec::new();
    for r in selected.values() {
        for rule in r.rules.as_deref().unwrap_or_default() {
            if !rules.contains(rule) {
                rules.push(rule.clone());
            }
        }
    }
    (rules, selected.into_keys().collect())
}

impl Controller<Arc<Store>> for ClusterRoleAggregation {
    fn name(&self) -> &'static str {
        "clusterrole-aggregation"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["rbac.authorization.k8s.io/clusterroles"]
    }

    fn on_change(&mut self, change: &Change<'_>, _: &mut Arc<Store>, queue: &mut Enqueue<'_>) {
        let name = kinds::name_of(change.object);
        let gone = change.change == crate::reconciler::ChangeType::Deleted;
        let rule = change
            .object
            .get("aggregationRule")
            .filter(|r| !r.is_null());
        match rule {
            Some(rule) if !gone => {
                let selectors = rule
                    .get("clusterRoleSelectors")
                    .cloned()
                    .and_then(|s| serde_json::from_value::<Vec<LabelSelector>>(s).ok())
                    .unwrap_or_default();
                self.aggregated.insert(name.to_string(), selectors);
            }
            _ => {
                self.aggregated.remove(name);
                self.gathered.remove(name);
            }
        }
        // An aggregate looks again when it changed, when a role it gathered from changed or
        // went, or when a role its selectors now pick changed.
        let labels = if gone {
            None
        } else {
            crate::workload::labels_map(change.object.pointer("/metadata/labels"))
        };
        for (aggregate, selectors) in &self.aggregated {
            let concerned = aggregate == name
                || self
                    .gathered
                    .get(aggregate)
                    .is_some_and(|g| g.contains(name))
                || selectors.iter().any(|s| {
                    kq_kube::selectors::label_selector_matches(s, labels.as_ref()).unwrap_or(false)
                });
            if concerned {
                queue.key(aggregate.clone());
            }
        }
    }

    fn reconcile(
        &mut self,
        name: &str,
        _: jiff::Timestamp,
        store: &mut Arc<Store>,
        _: &mut Enqueue<'_>,
    ) -> crate::Result<Action> {
        let Some(raw) = store.get_raw(&kinds::clusterrole::KIND, "", name) else {
            return Ok(Action::await_change());
        };
        let Ok(role) = serde_json::from_value::<ClusterRole>((*raw).clone()) else {
            return Ok(Action::await_change());
        };
        if role.aggregation_rule.is_none() {
            return Ok(Action::await_change());
        }
        let (rules, from) = gathered_rules(store, &role);
        self.gathered.insert(name.to_string(), from);
        if role.rules.as_deref().unwrap_or_default() == rules.as_slice() {
            return Ok(Action::await_change());
        }
        match store.update_with::<ClusterRole>("", name, |r| r.rules = Some(rules.clone())) {
            // Gone meanwhile: nothing to aggregate into.
            Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => Ok(Action::await_change()),
            Err(e) => Err(e.into()),
        }
    }
}
