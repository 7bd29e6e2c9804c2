//! The API around the workload kinds, driven by every kubectl on this machine: `create
//! deployment|job|cronjob` (protobuf bodies from kubectl 1.32 on), the server-side tables of
//! `get deploy,rs,job,cronjob` and their `-o wide` columns, the scheme defaults `-o yaml`
//! shows, `scale` through the scale subresource (and its `--current-replicas` precondition),
//! `set image` merging containers by name, the validation errors kube-apiserver prints, and
//! `get all`.
//!
//! One cluster is shared; each kubectl version works in its own namespace with its own HOME,
//! and the versions run concurrently, as in `kubectl_compat.rs`.

use kq_tests::check::{Step, equals, fails_with, has, has_row, header, ok};
use kq_tests::cluster::{Kubectl, TestCluster, on_every_kubectl};

fn write_file(tc: &TestCluster, name: &str, text: &str) -> String {
    let path = tc.dir().join(name);
    std::fs::write(&path, text).expect("a manifest in the scratch directory");
    path.to_string_lossy().into_owned()
}

fn scenario(tc: &TestCluster, k: &Kubectl, ns: &str) -> Step {
    let run = |args: &[&str]| {
        let mut a: Vec<&str> = vec!["-n", ns];
        a.extend_from_slice(args);
        k.run(&a)
    };
    ok(&k.run(&["create", "namespace", ns]))?;

    // Deployments.
    let r = run(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    equals(
        &r,
        "deployment.apps/web created",
        "create deployment answers",
    )?;
    let r = run(&["get", "deploy", "web"]);
    header(
        &r,
        &["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
        "deployment table",
    )?;
    let row = r
        .stdout
        .lines()
        .nth(1)
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>();
    if row.first() != Some(&"web") || !row.get(1).is_some_and(|c| c.ends_with("/2")) {
        return Err(format!("READY is ready/desired: {r}"));
    }
    let r = run(&["get", "deploy", "-o", "wide"]);
    header(
        &r,
        &[
            "NAME",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
        "deployment wide table",
    )?;
    if !r.stdout.lines().any(|l| {
        let cols: Vec<&str> = l.split_whitespace().collect();
        cols.first() == Some(&"web") && cols.ends_with(&["nginx", "nginx:1.27", "app=web"])
    }) {
        return Err(format!("wide cells: containers, images, selector: {r}"));
    }
    let r = run(&["get", "deploy", "web", "-o", "yaml"]);
    ok(&r)?;
    for default in [
        "progressDeadlineSeconds: 600",
        "revisionHistoryLimit: 10",
        "maxSurge: 25%",
        "maxUnavailable: 25%",
        "type: RollingUpdate",
        "restartPolicy: Always",
        "dnsPolicy: ClusterFirst",
        "schedulerName: default-scheduler",
        "terminationGracePeriodSeconds: 30",
        "securityContext: {}",
        "imagePullPolicy: IfNotPresent",
        "terminationMessagePath: /dev/termination-log",
        "terminationMessagePolicy: File",
    ] {
        has(&r, default, "get -o yaml shows the scheme defaults")?;
    }
    if r.stdout.contains("enableServiceLinks") {
        return Err(format!("a pod template has no pod-only defaults: {r}"));
    }

    // Scale through the scale subresource.
    let r = run(&["scale", "deploy/web", "--replicas=3"]);
    equals(&r, "deployment.apps/web scaled", "kubectl scale answers")?;
    equals(
        &run(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"]),
        "3",
        "scale changed spec.replicas",
    )?;
    let r = run(&[
        "scale",
        "deploy/web",
        "--current-replicas=2",
        "--replicas=4",
    ]);
    fails_with(
        &r,
        "Expected replicas to be 2, was 3",
        "--current-replicas is checked against the Scale",
    )?;
    let r = k.run(&[
        "get",
        "--raw",
        &format!("/apis/apps/v1/namespaces/{ns}/deployments/web/scale"),
    ]);
    has(
        &r,
        "\"kind\":\"Scale\"",
        "the scale subresource answers a Scale",
    )?;
    has(
        &r,
        "\"selector\":\"app=web\"",
        "with the selector as a string",
    )?;

    // set image merges the container by name.
    let r = run(&["set", "image", "deploy/web", "nginx=nginx:1.25"]);
    equals(&r, "deployment.apps/web image updated", "set image answers")?;
    equals(
        &run(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[*].image}",
        ]),
        "nginx:1.25",
        "set image replaced the one container's image",
    )?;
    equals(
        &run(&[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.metadata.generation}",
        ]),
        "3",
        "each spec change bumps the generation (scale, set image)",
    )?;

    // Validation texts.
    let bad = write_file(
        tc,
        &format!("bad-{ns}.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: bad\nspec:\n  selector:\n    matchLabels:\n      app: bad\n  template:\n    metadata:\n      labels:\n        app: other\n    spec:\n      restartPolicy: Never\n      containers:\n      - name: web\n        image: nginx:1.27\n",
    );
    let r = run(&["apply", "-f", &bad]);
    fails_with(
        &r,
        "The Deployment \"bad\" is invalid: \n* spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"other\"}: `selector` does not match template `labels`\n* spec.template.spec.restartPolicy: Unsupported value: \"Never\": supported values: \"Always\"",
        "a bad Deployment is refused with kube-apiserver's words",
    )?;
    let moved = write_file(
        tc,
        &format!("moved-{ns}.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: moved\n  template:\n    metadata:\n      labels:\n        app: moved\n    spec:\n      containers:\n      - name: nginx\n        image: nginx:1.28\n",
    );
    let r = run(&["apply", "-f", &moved]);
    fails_with(
        &r,
        "spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"moved\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable",
        "a Deployment's selector cannot change",
    )?;

    let unselected = write_file(
        tc,
        &format!("unselected-{ns}.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: unselected\nspec:\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n",
    );
    fails_with(
        &run(&["apply", "-f", &unselected]),
        "The Deployment \"unselected\" is invalid: \n* spec.selector: Required value\n* spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"web\"}: `selector` does not match template `labels`",
        "apps/v1 requires a selector",
    )?;
    let always = write_file(
        tc,
        &format!("always-{ns}.yaml"),
        "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: always\nspec:\n  template:\n    spec:\n      containers:\n      - name: pi\n        image: busybox:1.36\n",
    );
    fails_with(
        &run(&["apply", "-f", &always]),
        "The Job \"always\" is invalid: spec.template.spec.restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"",
        "a Job's pods may not restart Always",
    )?;

    // Jobs.
    let r = run(&[
        "create",
        "job",
        "pi",
        "--image=busybox:1.36",
        "--",
        "echo",
        "hi",
    ]);
    equals(&r, "job.batch/pi created", "create job answers")?;
    let r = run(&["get", "job", "pi"]);
    header(
        &r,
        &["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"],
        "job table of a 1.33 server",
    )?;
    has_row(&r, &["pi"], "the job is listed")?;
    let r = run(&["get", "job", "pi", "-o", "wide"]);
    header(
        &r,
        &[
            "NAME",
            "STATUS",
            "COMPLETIONS",
            "DURATION",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
        "job wide table",
    )?;
    has(
        &r,
        "batch.kubernetes.io/controller-uid=",
        "the generated selector",
    )?;
    let r = run(&["get", "job", "pi", "-o", "yaml"]);
    for default in [
        "backoffLimit: 6",
        "completionMode: NonIndexed",
        "completions: 1",
        "parallelism: 1",
        "suspend: false",
        "podReplacementPolicy: TerminatingOrFailed",
        "batch.kubernetes.io/job-name: pi",
        "job-name: pi",
        "restartPolicy: Never",
    ] {
        has(&r, default, "a job's defaults and generated labels")?;
    }
    let r = run(&["get", "jobs", "--field-selector", "status.successful=0"]);
    ok(&r)?;

    // CronJobs.
    let r = run(&[
        "create",
        "cronjob",
        "hello",
        "--image=busybox:1.36",
        "--schedule=*/5 * * * *",
        "--",
        "date",
    ]);
    equals(&r, "cronjob.batch/hello created", "create cronjob answers")?;
    let r = run(&["get", "cronjob", "hello"]);
    header(
        &r,
        &[
            "NAME",
            "SCHEDULE",
            "TIMEZONE",
            "SUSPEND",
            "ACTIVE",
            "LAST SCHEDULE",
            "AGE",
        ],
        "cronjob table of a 1.33 server",
    )?;
    has_row(
        &r,
        &[
            "hello", "*/5", "*", "*", "*", "*", "<none>", "False", "0", "<none>",
        ],
        "cronjob cells",
    )?;
    let r = run(&[
        "create",
        "cronjob",
        "never",
        "--image=busybox:1.36",
        "--schedule=every day",
    ]);
    fails_with(
        &r,
        "spec.schedule: Invalid value: \"every day\": expected exactly 5 fields, found 2: [every day]",
        "a schedule the cron parser refuses",
    )?;

    // expose reads the deployment's selector.
    equals(
        &run(&["expose", "deploy/web", "--port=80"]),
        "service/web exposed",
        "expose answers",
    )?;
    equals(
        &run(&["get", "svc", "web", "-o", "jsonpath={.spec.selector.app}"]),
        "web",
        "the service selects the deployment's pods",
    )?;

    // The other set commands and rollout restart patch the template's keyed lists.
    equals(
        &run(&["set", "env", "deploy/web", "GREETING=hi"]),
        "deployment.apps/web env updated",
        "set env answers",
    )?;
    equals(
        &run(&["set", "resources", "deploy/web", "--limits=cpu=200m"]),
        "deployment.apps/web resource requirements updated",
        "set resources answers",
    )?;
    equals(
        &run(&["rollout", "restart", "deploy/web"]),
        "deployment.apps/web restarted",
        "rollout restart answers",
    )?;
    let r = run(&[
        "get",
        "deploy",
        "web",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].env[0].name} {.spec.template.spec.containers[0].resources.limits.cpu} {.spec.template.spec.containers[0].image}",
    ]);
    equals(
        &r,
        "GREETING 200m nginx:1.25",
        "each set kept the others' edits",
    )?;
    has(
        &run(&["get", "deploy", "web", "-o", "yaml"]),
        "kubectl.kubernetes.io/restartedAt:",
        "rollout restart annotates the template",
    )?;
    let r = run(&["get", "rs", "-o", "wide"]);
    header(
        &r,
        &[
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "AGE",
            "CONTAINERS",
            "IMAGES",
            "SELECTOR",
        ],
        "replica set wide table",
    )?;
    let r = run(&["scale", "sts/nope", "--replicas=2"]);
    fails_with(
        &r,
        "error: no objects passed to scale",
        "scaling a missing stateful set (1.32+ add the NotFound text)",
    )?;

    // A job made from a cron job's template.
    equals(
        &run(&["create", "job", "manual", "--from=cronjob/hello"]),
        "job.batch/manual created",
        "create job --from=cronjob answers",
    )?;
    let r = run(&["get", "job", "manual", "-o", "yaml"]);
    has(
        &r,
        "cronjob.kubernetes.io/instantiate: manual",
        "the manual job is marked",
    )?;
    has(&r, "kind: CronJob", "and owned by its cron job")?;
    has(
        &r,
        "restartPolicy: OnFailure",
        "with the template's restart policy",
    )?;

    // A richer template survives the trip (protobuf from kubectl 1.32 on): volumes, env from
    // config maps and secrets, probes, resources.
    let rich = write_file(
        tc,
        &format!("rich-{ns}.yaml"),
        "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: rich\nspec:\n  schedule: \"0 3 * * *\"\n  timeZone: Europe/Paris\n  jobTemplate:\n    metadata:\n      labels:\n        team: ops\n    spec:\n      backoffLimit: 2\n      template:\n        spec:\n          restartPolicy: Never\n          volumes:\n          - name: conf\n            configMap:\n              name: app-conf\n              items:\n              - key: a\n                path: a.txt\n          - name: scratch\n            emptyDir:\n              sizeLimit: 64Mi\n          - name: creds\n            secret:\n              secretName: creds\n              defaultMode: 256\n          containers:\n          - name: report\n            image: busybox:1.36\n            args: [\"sh\", \"-c\", \"cat /conf/a.txt\"]\n            env:\n            - name: MODE\n              valueFrom:\n                configMapKeyRef:\n                  name: app-conf\n                  key: mode\n            - name: TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: creds\n                  key: token\n                  optional: true\n            - name: POD\n              valueFrom:\n                fieldRef:\n                  fieldPath: metadata.name\n            envFrom:\n            - prefix: CFG_\n              configMapRef:\n                name: app-conf\n            resources:\n              requests:\n                cpu: 50m\n                memory: 32Mi\n              limits:\n                memory: 64Mi\n            readinessProbe:\n              exec:\n                command: [\"true\"]\n              periodSeconds: 5\n            livenessProbe:\n              httpGet:\n                path: /healthz\n                port: 8080\n            volumeMounts:\n            - name: conf\n              mountPath: /conf\n              readOnly: true\n            - name: scratch\n              mountPath: /scratch\n",
    );
    ok(&run(&["apply", "-f", &rich]))?;
    equals(
        &run(&["get", "cronjob", "rich", "-o", "jsonpath={.spec.timeZone}"]),
        "Europe/Paris",
        "a cron job's time zone",
    )?;
    ok(&run(&["create", "job", "rich-now", "--from=cronjob/rich"]))?;
    let template = |args: &[&str]| -> Result<serde_json::Value, String> {
        let r = run(args);
        ok(&r)?;
        serde_json::from_str(&r.stdout).map_err(|e| format!("{e}: {r}"))
    };
    let want = template(&[
        "get",
        "cronjob",
        "rich",
        "-o",
        "jsonpath={.spec.jobTemplate.spec.template.spec}",
    ])?;
    let got = template(&[
        "get",
        "job",
        "rich-now",
        "-o",
        "jsonpath={.spec.template.spec}",
    ])?;
    if want != got {
        return Err(format!(
            "create job --from=cronjob keeps the whole pod template:\n cronjob {want}\n job     {got}"
        ));
    }
    equals(
        &run(&[
            "get",
            "job",
            "rich-now",
            "-o",
            "jsonpath={.spec.backoffLimit} {.metadata.labels.team}",
        ]),
        "2 ops",
        "and the job template's own fields and labels",
    )?;

    // kubectl logs picks a pod through the owner's selector.
    let mut logs = run(&["logs", "job/pi"]);
    for _ in 0..40 {
        if logs.ok() && logs.stdout.contains("hi") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        logs = run(&["logs", "job/pi"]);
    }
    equals(&logs, "hi", "logs job/pi shows the job's pod's output")?;
    let mut logs = run(&["logs", "deploy/web", "--tail=1"]);
    for _ in 0..40 {
        if logs.ok() && !logs.stdout.trim().is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        logs = run(&["logs", "deploy/web", "--tail=1"]);
    }
    ok(&logs)?;
    has(&logs, "Found ", "logs deploy/web names the pod it picked")?;

    // StatefulSets and DaemonSets through apply.
    let sets = write_file(
        tc,
        &format!("sets-{ns}.yaml"),
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: db\nspec:\n  serviceName: db\n  replicas: 1\n  selector:\n    matchLabels:\n      app: db\n  template:\n    metadata:\n      labels:\n        app: db\n    spec:\n      containers:\n      - name: db\n        image: nginx:1.27\n---\napiVersion: apps/v1\nkind: DaemonSet\nmetadata:\n  name: agent\nspec:\n  selector:\n    matchLabels:\n      app: agent\n  template:\n    metadata:\n      labels:\n        app: agent\n    spec:\n      nodeSelector:\n        kubernetes.io/os: linux\n      containers:\n      - name: agent\n        image: nginx:1.27\n",
    );
    let r = run(&["apply", "-f", &sets]);
    has(
        &r,
        "statefulset.apps/db created",
        "apply creates a StatefulSet",
    )?;
    has(&r, "daemonset.apps/agent created", "and a DaemonSet")?;
    let r = run(&["get", "sts", "db", "-o", "wide"]);
    header(
        &r,
        &["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"],
        "stateful set wide table",
    )?;
    has_row(&r, &["db"], "the stateful set is listed")?;
    let r = run(&["get", "ds", "agent"]);
    header(
        &r,
        &[
            "NAME",
            "DESIRED",
            "CURRENT",
            "READY",
            "UP-TO-DATE",
            "AVAILABLE",
            "NODE SELECTOR",
            "AGE",
        ],
        "daemon set table",
    )?;
    if !r
        .stdout
        .lines()
        .any(|l| l.starts_with("agent ") && l.contains("kubernetes.io/os=linux"))
    {
        return Err(format!("NODE SELECTOR shows the template's: {r}"));
    }
    let r = run(&["get", "sts", "db", "-o", "yaml"]);
    for default in [
        "podManagementPolicy: OrderedReady",
        "partition: 0",
        "whenDeleted: Retain",
        "whenScaled: Retain",
    ] {
        has(&r, default, "a stateful set's defaults")?;
    }
    equals(
        &run(&["scale", "sts/db", "--replicas=2"]),
        "statefulset.apps/db scaled",
        "stateful sets scale too",
    )?;
    let mut r = run(&["get", "controllerrevisions"]);
    for _ in 0..40 {
        if r.stdout.contains("statefulset.apps/db") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
        r = run(&["get", "controllerrevisions"]);
    }
    header(
        &r,
        &["NAME", "CONTROLLER", "REVISION", "AGE"],
        "controller revision table",
    )?;
    if !r.stdout.lines().any(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        c.len() == 4 && c[0].starts_with("db-") && c[1] == "statefulset.apps/db" && c[2] == "1"
    }) {
        return Err(format!(
            "a revision names its controller as kind.group/name: {r}"
        ));
    }
    let r = run(&[
        "get",
        "ds",
        "agent",
        "-o",
        "jsonpath={.metadata.annotations.deprecated\\.daemonset\\.template\\.generation}",
    ]);
    equals(&r, "1", "a daemon set's template generation")?;

    // Everything together.
    let r = run(&["get", "all"]);
    ok(&r)?;
    for name in ["deployment.apps/web", "job.batch/pi", "cronjob.batch/hello"] {
        has(&r, name, "get all lists the workloads")?;
    }
    let order: Vec<usize> = [
        "deployment.apps/web",
        "replicaset.apps/web-",
        "cronjob.batch/hello",
        "job.batch/pi",
    ]
    .iter()
    .filter_map(|n| r.stdout.find(n))
    .collect();
    if order.len() != 4 || !order.is_sorted() {
        return Err(format!(
            "get all lists deployments, replica sets, cron jobs, jobs in discovery order: {r}"
        ));
    }
    let r = run(&["get", "deploy,rs,job,cronjob"]);
    ok(&r)?;
    has(&r, "deployment.apps/web", "several kinds at once")?;
    let r = k.run(&["api-resources", "--api-group=apps"]);
    has_row(
        &r,
        &["deployments", "deploy", "apps/v1", "true", "Deployment"],
        "discovery of apps/v1",
    )?;
    let r = k.run(&["api-resources", "--api-group=batch"]);
    has_row(
        &r,
        &["cronjobs", "cj", "batch/v1", "true", "CronJob"],
        "discovery of batch/v1",
    )?;
    Ok(())
}

#[test]
fn every_kubectl_version_drives_the_workload_api() {
    let tc = TestCluster::start();
    on_every_kubectl(&tc, "wl", |k, ns| scenario(&tc, k, ns));
}
