//! The two strategies, as Kubernetes has them in `rolling.go` and `recreate.go`, and the
//! cleanup of old ReplicaSets beyond the revision history limit.

use super::*;

impl Sync<'_> {
    /// `rolloutRolling`: one scaling step per sync.
    pub(super) fn rollout_rolling(&mut self, rs_list: &[Value]) -> crate::Result<Action> {
        let (new_rs, old) = self.all_replica_sets(rs_list, true)?;
        let Some(new_rs) = new_rs else {
            return Ok(Action::await_change());
        };
        let mut all: Vec<Value> = old.clone();
        all.push(new_rs.clone());
        // Scale the new ReplicaSet up (or down to replicas).
        let n = replicas(&self.d);
        if rs_spec(&new_rs) != n {
            let to = if rs_spec(&new_rs) > n {
                n
            } else {
                self.new_rs_new_replicas(&all, &new_rs)
            };
            let (scaled, written) = self.scale_rs_event(&new_rs, to)?;
            if scaled {
                all.pop();
                all.push(written.clone());
                return self.sync_rollout_status(&old, Some(&written));
            }
        }
        // Scale the old ones down.
        let active_old: Vec<Value> = old.iter().filter(|rs| is_active_rs(rs)).cloned().collect();
        if self.reconcile_old(&all, &active_old, &new_rs)? {
            let rs_list = self.reread(&all);
            let (new_rs, old) = split(&rs_list, Some(&new_rs));
            return self.sync_rollout_status(&old, new_rs.as_ref());
        }
        let status = self.status();
        if self.complete(&status) {
            self.cleanup(&old)?;
        }
        self.sync_rollout_status(&old, Some(&new_rs))
    }

    /// `reconcileOldReplicaSets`.
    pub(super) fn reconcile_old(
        &mut self,
        all: &[Value],
        old: &[Value],
        new_rs: &Value,
    ) -> crate::Result<bool> {
        let old_count = sum(old, rs_spec);
        if old_count == 0 {
            return Ok(false);
        }
        let all_count = sum(all, rs_spec);
        let min_available = replicas(&self.d) - max_unavailable(&self.d);
        let new_unavailable = rs_spec(new_rs) - rs_status(new_rs, "availableReplicas");
        let max_scaled_down = all_count - min_available - new_unavailable;
        if max_scaled_down <= 0 {
            return Ok(false);
        }
        // First the old replicas that are not available anyway, oldest ReplicaSet first.
        let mut old: Vec<Value> = old.to_vec();
        old.sort_by(by_creation);
        let mut cleaned = 0;
        for rs in old.iter_mut() {
            if cleaned >= max_scaled_down {
                break;
            }
            let spec = rs_spec(rs);
            let available = rs_status(rs, "availableReplicas");
            if spec == 0 || spec == available {
                continue;
            }
            let down = (max_scaled_down - cleaned).min(spec - available);
            let (_, written) = self.scale_rs_event(rs, spec - down)?;
            *rs = written;
            cleaned += down;
        }
        // Then available ones, as far as maxUnavailable allows.
        let mut all_now: Vec<Value> = old.clone();
        all_now.push(new_rs.clone());
        let available = sum(&all_now, |rs| rs_status(rs, "availableReplicas"));
        let mut scaled_down = 0;
        if available > min_available {
            let budget = available - min_available;
            for rs in &old {
                if scaled_down >= budget {
                    break;
                }
                let spec = rs_spec(rs);
                if spec == 0 {
                    continue;
                }
                let down = spec.min(budget - scaled_down);
                self.scale_rs_event(rs, spec - down)?;
                scaled_down += down;
            }
        }
        Ok(cleaned + scaled_down > 0)
    }

    /// `rolloutRecreate`: old ReplicaSets to zero, wait for their pods to be gone, then the
    /// new one at full size.
    pub(super) fn rollout_recreate(&mut self, rs_list: &[Value]) -> crate::Result<Action> {
        let (new_rs, old) = self.all_replica_sets(rs_list, false)?;
        let mut scaled = false;
        for rs in old.iter().filter(|rs| is_active_rs(rs)) {
            if self.scale_rs_event(rs, 0)?.0 {
                scaled = true;
            }
        }
        if scaled {
            let rs_list = self.reread(rs_list);
            let (new_rs, old) = split(&rs_list, new_rs.as_ref());
            return self.sync_rollout_status(&old, new_rs.as_ref());
        }
        if self.old_pods_running(new_rs.as_ref(), &old) {
            return self.sync_rollout_status(&old, new_rs.as_ref());
        }
        let (new_rs, old) = match new_rs {
            Some(rs) => (rs, old),
            None => {
                let (new_rs, old) = self.all_replica_sets(rs_list, true)?;
                let Some(new_rs) = new_rs else {
                    return Ok(Action::await_change());
                };
                (new_rs, old)
            }
        };
        let n = replicas(&self.d);
        let (_, new_rs) = self.scale_rs_event(&new_rs, n)?;
        let status = self.status();
        if self.complete(&status) {
            self.cleanup(&old)?;
        }
        self.sync_rollout_status(&old, Some(&new_rs))
    }

    /// `oldPodsRunning`: an old ReplicaSet still reports pods, or one of its pods has not
    /// finished (terminating pods count).
    pub(super) fn old_pods_running(&self, new_rs: Option<&Value>, old: &[Value]) -> bool {
        if sum(old, |rs| rs_status(rs, "replicas")) > 0 {
            return true;
        }
        let ns = self.ns();
        let new_uid = new_rs.map(|rs| kinds::str_at(rs, "/metadata/uid").to_string());
        let old_uids: Vec<&str> = old
            .iter()
            .map(|rs| kinds::str_at(rs, "/metadata/uid"))
            .collect();
        self.sh.pods.values().any(|p| {
            kinds::namespace_of(p) == ns
                && workload::controller_of(p).is_some_and(|r| {
                    let uid = kinds::str_at(r, "/uid");
                    old_uids.contains(&uid) && Some(uid) != new_uid.as_deref()
                })
                && !matches!(workload::phase(p), "Succeeded" | "Failed")
        })
    }

    /// `cleanupDeployment`: delete the oldest unused ReplicaSets beyond revisionHistoryLimit.
    pub(super) fn cleanup(&mut self, old: &[Value]) -> crate::Result<()> {
        let limit = i64_at(&self.d, "/spec/revisionHistoryLimit")
            .unwrap_or(10)
            .max(0);
        let mut alive: Vec<&Value> = old
            .iter()
            .filter(|rs| rs.pointer("/metadata/deletionTimestamp").is_none())
            .collect();
        let diff = alive.len() as i64 - limit;
        if diff <= 0 {
            return Ok(());
        }
        alive.sort_by(|a, b| {
            revision_of(a)
                .cmp(&revision_of(b))
                .then_with(|| by_creation(a, b))
        });
        let ns = self.ns();
        for rs in alive.into_iter().take(diff.unsigned_abs() as usize) {
            let observed = rs_status(rs, "observedGeneration")
                >= i64_at(rs, "/metadata/generation").unwrap_or(1);
            if rs_status(rs, "replicas") != 0 || rs_spec(rs) != 0 || !observed {
                continue;
            }
            match self.sh.store.delete(
                rs_kind(),
                &ns,
                kinds::name_of(rs),
                &DeleteOptions::default(),
            ) {
                Ok(_) | Err(kq_apiserver::Error::NotFound { .. }) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}
