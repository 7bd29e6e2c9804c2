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

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};

use crate::kinds;
use crate::reconciler::{Action, Change, Controller, Enqueue};
use crate::store::Store;

/// The aggregation controller, keyed by ClusterRole name.
#[derive(Debug, Default)]
pub(crate) struct ClusterRoleAggregation;

/// Every ClusterRole that has an aggregationRule.
fn aggregated_names(store: &Store) -> Vec<String> {
    store
        .list::<ClusterRole>(None)
        .into_iter()
        .filter(|r| r.aggregation_rule.is_some())
        .filter_map(|r| r.metadata.name)
        .collect()
}

/// The rules `role`'s selectors gather: selected roles in name order, each rule once.
fn gathered_rules(store: &Store, role: &ClusterRole) -> Vec<PolicyRule> {
    let own = role.metadata.name.as_deref().unwrap_or_default();
    let selectors = role
        .aggregation_rule
        .as_ref()
        .and_then(|a| a.cluster_role_selectors.as_deref())
        .unwrap_or_default();
    let mut selected: BTreeMap<String, ClusterRole> = BTreeMap::new();
    for candidate in store.list::<ClusterRole>(None) {
        let name = candidate.metadata.name.clone().unwrap_or_default();
        if name == own {
            continue;
        }
        let labels = candidate.metadata.labels.as_ref();
        if selectors
            .iter()
            .any(|s| kq_kube::selectors::label_selector_matches(s, labels).unwrap_or(false))
        {
            selected.insert(name, candidate);
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
    rules
}

impl Controller<Arc<Store>> for ClusterRoleAggregation {
    fn name(&self) -> &'static str {
        "clusterrole-aggregation"
    }

    fn watches(&self) -> &'static [&'static str] {
        &["rbac.authorization.k8s.io/clusterroles"]
    }

    fn on_change(&mut self, _change: &Change<'_>, store: &mut Arc<Store>, queue: &mut Enqueue<'_>) {
        // Any ClusterRole can join or leave any aggregate: look at them all.
        for name in aggregated_names(store) {
            queue.key(name);
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
        let rules = gathered_rules(store, &role);
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
