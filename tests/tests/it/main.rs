//! KubeQuest's integration tests, linked once: every area below used to be its own test binary,
//! each linking kube, the embedded cluster and the engine again; on a two-core CI machine that
//! linking cost minutes. One binary with a module per area keeps `cargo test -p kq-tests
//! <area>::` as the way to run one area (for example `cargo test -p kq-tests mission_ci::`).

mod admission_pod_security;
mod admission_quota;
mod api_class_join;
mod api_fuzz;
mod api_http;
mod audit_log;
mod auth_identity;
mod auth_rbac;
mod classroom_class;
mod classroom_prepare;
mod classroom_seat;
mod cli_classroom;
mod cli_play;
mod cli_progress;
mod curriculum;
mod disruption_drain;
mod engine_connect;
mod engine_drain;
mod engine_fixtures;
mod engine_flows;
mod engine_graph;
mod engine_inspect;
mod engine_mission;
mod engine_pipeline;

mod engine_progress;
mod engine_scheduling;
mod engine_security;
mod engine_services;
mod engine_session;
mod engine_tracker;
mod engine_workloads;
mod kube_client;
mod kube_system;
mod kubectl_cluster_up;
mod kubectl_compat;
mod learner_debrief;
mod learner_hints;
mod lesson_shortcuts;
mod lessons_guide;
mod mission_ci;
mod network_sim;
mod openapi_explain;
mod services_endpoints;
mod sim_lifecycle;
mod storage_volumes;
mod streams_exec;
mod streams_kubectl;
mod workloads_api;
mod workloads_batch;
mod workloads_deployment;
mod workloads_gc;
mod workloads_sets;
