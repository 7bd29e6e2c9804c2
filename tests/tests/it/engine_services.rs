//! The `service-endpoints` objective in a whole mission session on the embedded cluster: the
//! session watches the namespace's Services and EndpointSlices through the app's `kube`
//! client, reports why a Service has no ready endpoints (its only pod fails its readiness
//! probe), and solves once the learner's readiness fix rolls out and the EndpointSlice
//! controller lists the new pod as ready.

use kq_engine::ipc::SessionUpdate;
use kq_engine::mission::ObjectiveStatus;
use kq_engine::session::apply_yaml;
use kq_tests::session::{first_objective, start_session, wait_for};

const MISSION: &str = "---
format: 1
id: no-endpoints
title: The Service with nobody behind it
order: 1
stage: ready
difficulty: beginner
objectives:
  - id: endpoints
    title: \"`web` has a ready endpoint\"
    check: { kind: service-endpoints, service: web, min_ready: 1 }
hints:
  - Look at the Service's endpoints.
  - Look at the pod's readiness.
  - Probe the port nginx listens on.
---

# The Service with nobody behind it

`web` answers nothing.
";

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector:\n    app: web\n  ports:\n    - port: 80\n      targetPort: 80\n";

fn deploy_yaml(probe_port: u16) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  \
         selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        \
         app: web\n    spec:\n      containers:\n        - name: nginx\n          image: nginx:1.27\n          \
         readinessProbe:\n            tcpSocket:\n              port: {probe_port}\n            periodSeconds: 5\n"
    )
}

#[test]
fn a_session_reports_a_service_without_ready_endpoints_and_solves_after_the_readiness_fix() {
    let s = start_session(
        "01-no-endpoints",
        &[
            ("mission.md", MISSION.to_owned()),
            (
                "manifests/web.yaml",
                format!("{SERVICE}---\n{}", deploy_yaml(8080)),
            ),
            ("solution/web.yaml", deploy_yaml(80)),
            (
                "debrief.md",
                "# Debrief\n\n## What happened\n\nThe probe checked a port nobody listens on.\n"
                    .to_owned(),
            ),
        ],
    );
    let (tc, rx, client, ns, session_rt) = (&s.tc, &s.rx, &s.client, &s.ns, &s.rt);
    let mut all = Vec::new();

    // The pod runs but its probe knocks on 8080: the Service's slice lists it not ready.
    let u = wait_for(tc, rx, &mut all, 2, "the not-ready reason", |u| {
        first_objective(u).is_some_and(|(_, r)| r.contains("is not ready"))
    });
    assert_eq!(
        first_objective(&u),
        Some((
            ObjectiveStatus::NotMet,
            "web has no ready endpoints (1 pod matches but is not ready)".to_string()
        ))
    );

    // The learner's fix, through the editor's Apply: probe port 80.
    let r = session_rt.block_on(apply_yaml(client, ns, "web.yaml", &deploy_yaml(80)));
    assert!(r.ok, "{r:?}");
    let u = wait_for(tc, rx, &mut all, 2, "the endpoint ready", |u| {
        first_objective(u).is_some_and(|(s, _)| s == ObjectiveStatus::Met)
    });
    assert_eq!(
        first_objective(&u),
        Some((ObjectiveStatus::Met, "web has 1 ready endpoint".to_string()))
    );
    wait_for(tc, rx, &mut all, 1, "the solve", |u| {
        matches!(u, SessionUpdate::Solved { .. })
    });
    assert_eq!(s.outcome(), kq_engine::session::SessionOutcome::Solved);
}
