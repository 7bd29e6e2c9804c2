//! The Deployment's status and its Progressing condition with the progress deadline, as
//! Kubernetes has them in `sync.go` (`calculateStatus`) and `progress.go`.

use super::*;

impl Sync<'_> {
    /// `calculateStatus`: counts from the ReplicaSets, and the Available condition.
    pub(super) fn calculate_status(&self, old: &[Value], new_rs: Option<&Value>) -> Value {
        let all = || old.iter().chain(new_rs);
        let available: i64 = all().map(|rs| rs_status(rs, "availableReplicas")).sum();
        let total: i64 = all().map(rs_spec).sum();
        let mut status = self.status();
        status["observedGeneration"] = json!(i64_at(&self.d, "/metadata/generation").unwrap_or(1));
        status["replicas"] = json!(all().map(|rs| rs_status(rs, "replicas")).sum::<i64>());
        status["updatedReplicas"] = json!(new_rs.map_or(0, |rs| rs_status(rs, "replicas")));
        status["readyReplicas"] =
            json!(all().map(|rs| rs_status(rs, "readyReplicas")).sum::<i64>());
        status["availableReplicas"] = json!(available);
        status["unavailableReplicas"] = json!((total - available).max(0));
        let n = replicas(&self.d);
        let cond = if available >= n - max_unavailable(&self.d) {
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
                self.now,
            )
        } else {
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
                self.now,
            )
        };
        set_condition(&mut status, cond);
        omit_zeros(&mut status);
        status
    }

    /// `syncDeploymentStatus`.
    pub(super) fn sync_status(
        &mut self,
        old: &[Value],
        new_rs: Option<&Value>,
    ) -> crate::Result<()> {
        let status = self.calculate_status(old, new_rs);
        self.write_status(status)
    }

    /// `DeploymentComplete`.
    pub(super) fn complete(&self, status: &Value) -> bool {
        let n = replicas(&self.d);
        let get = |k: &str| i64_at(status, &format!("/{k}")).unwrap_or(0);
        get("updatedReplicas") == n
            && get("replicas") == n
            && get("availableReplicas") == n
            && get("observedGeneration") >= i64_at(&self.d, "/metadata/generation").unwrap_or(1)
    }

    /// `syncRolloutStatus`: the status with the Progressing and ReplicaFailure conditions,
    /// and a requeue at the progress deadline.
    pub(super) fn sync_rollout_status(
        &mut self,
        old: &[Value],
        new_rs: Option<&Value>,
    ) -> crate::Result<Action> {
        let mut status = self.calculate_status(old, new_rs);
        let deadline = progress_deadline(&self.d);
        if deadline.is_none() {
            remove_condition(&mut status, "Progressing");
        }
        let before = self.status();
        let current = get_condition(&before, "Progressing").cloned();
        let get = |s: &Value, k: &str| i64_at(s, &format!("/{k}")).unwrap_or(0);
        let is_complete = get(&status, "replicas") == get(&status, "updatedReplicas")
            && current
                .as_ref()
                .is_some_and(|c| kinds::str_at(c, "/reason") == "NewReplicaSetAvailable");
        let subject = match new_rs {
            Some(rs) => format!("ReplicaSet {:?}", kinds::name_of(rs)),
            None => format!("Deployment {:?}", kinds::name_of(&self.d)),
        };
        if let Some(deadline) = deadline.filter(|_| !is_complete) {
            if self.complete(&status) {
                let msg = format!("{subject} has successfully progressed.");
                set_condition(
                    &mut status,
                    condition(
                        "Progressing",
                        "True",
                        "NewReplicaSetAvailable",
                        msg,
                        self.now,
                    ),
                );
            } else if progressing(&before, &status) {
                let msg = format!("{subject} is progressing.");
                let mut cond = condition("Progressing", "True", "ReplicaSetUpdated", msg, self.now);
                if let Some(cur) = &current {
                    if kinds::str_at(cur, "/status") == "True" {
                        cond["lastTransitionTime"] = cur["lastTransitionTime"].clone();
                    }
                    remove_condition(&mut status, "Progressing");
                }
                set_condition(&mut status, cond);
            } else if self.timed_out(&status, deadline) {
                let msg = format!("{subject} has timed out progressing.");
                set_condition(
                    &mut status,
                    condition(
                        "Progressing",
                        "False",
                        "ProgressDeadlineExceeded",
                        msg,
                        self.now,
                    ),
                );
            }
        }
        // ReplicaFailure comes from the new ReplicaSet, else from any.
        let failure = new_rs.into_iter().chain(old.iter()).find_map(|rs| {
            rs.pointer("/status/conditions")?
                .as_array()?
                .iter()
                .find(|c| kinds::str_at(c, "/type") == "ReplicaFailure")
                .cloned()
        });
        match failure {
            Some(c) => {
                let t = c.get("lastTransitionTime").cloned().unwrap_or(Value::Null);
                set_condition(
                    &mut status,
                    json!({
                        "type": "ReplicaFailure",
                        "status": c.get("status").cloned().unwrap_or(json!("True")),
                        "lastUpdateTime": t,
                        "lastTransitionTime": t,
                        "reason": c.get("reason").cloned().unwrap_or(json!("")),
                        "message": c.get("message").cloned().unwrap_or(json!("")),
                    }),
                );
            }
            None => remove_condition(&mut status, "ReplicaFailure"),
        }
        omit_zeros(&mut status);
        let changed = before != status;
        self.write_status(status.clone())?;
        if changed {
            // The write comes back as a change; the deadline is planned from there.
            return Ok(Action::await_change());
        }
        Ok(self.requeue_stuck(&status, deadline))
    }

    /// `DeploymentTimedOut`.
    pub(super) fn timed_out(&self, status: &Value, deadline: Duration) -> bool {
        let Some(c) = get_condition(status, "Progressing") else {
            return false;
        };
        match kinds::str_at(c, "/reason") {
            "NewReplicaSetAvailable" => false,
            "ProgressDeadlineExceeded" => true,
            _ => crate::clock::parse_time(kinds::str_at(c, "/lastUpdateTime"))
                .is_some_and(|from| crate::scheduler::add(from, deadline) < self.now),
        }
    }

    /// `requeueStuckDeployment`: look again one second after the deadline.
    pub(super) fn requeue_stuck(&self, status: &Value, deadline: Option<Duration>) -> Action {
        let (Some(deadline), Some(c)) = (deadline, get_condition(status, "Progressing")) else {
            return Action::await_change();
        };
        if self.complete(status) || kinds::str_at(c, "/reason") == "ProgressDeadlineExceeded" {
            return Action::await_change();
        }
        let Some(from) = crate::clock::parse_time(kinds::str_at(c, "/lastUpdateTime")) else {
            return Action::await_change();
        };
        let at = crate::scheduler::add(from, deadline);
        let after = Duration::try_from(at.duration_since(self.now)).unwrap_or_default();
        if after < Duration::from_secs(1) {
            return Action::requeue(Duration::from_secs(1));
        }
        Action::requeue(after + Duration::from_secs(1))
    }
}

/// `DeploymentProgressing`: more updated, fewer old, more ready or more available replicas.
fn progressing(old: &Value, new: &Value) -> bool {
    let get = |s: &Value, k: &str| i64_at(s, &format!("/{k}")).unwrap_or(0);
    let old_old = get(old, "replicas") - get(old, "updatedReplicas");
    let new_old = get(new, "replicas") - get(new, "updatedReplicas");
    get(new, "updatedReplicas") > get(old, "updatedReplicas")
        || new_old < old_old
        || get(new, "readyReplicas") > get(old, "readyReplicas")
        || get(new, "availableReplicas") > get(old, "availableReplicas")
}
