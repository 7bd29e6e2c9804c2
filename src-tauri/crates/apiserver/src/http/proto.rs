//! Decoding of Kubernetes protobuf request bodies into JSON.
//!
//! kubectl 1.32 and later send `application/vnd.kubernetes.protobuf` bodies from its typed
//! clients (`kubectl create namespace|configmap|secret|serviceaccount|service|deployment|job|
//! cronjob`, `create job --from=cronjob/x`). Responses can stay JSON (kubectl accepts both),
//! but those bodies must be understood. This is a small schema-driven decoder for the messages
//! those commands produce: the `k8s\0` envelope (`runtime.Unknown`), ObjectMeta, the core
//! kinds served here and the workloads with their pod templates. Field numbers come from
//! `k8s.io/api/{core,apps,batch}/v1/generated.proto` and apimachinery's meta/v1 one; fields
//! without a row (volumes, probes, affinity) are skipped. Go writes every non-pointer scalar even when empty,
//! so zero values are dropped unless the field is a pointer (where "set to false" matters).

use base64::Engine;
use serde_json::{Map, Value};

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    Bool,
    Msg(&'static str),
    /// A message embedded with `json:",inline"`: its fields join the parent's.
    Inline(&'static str),
    MapStr,
    MapBytes,
    /// `map<string, resource.Quantity>` (container resources).
    MapQuantity,
    /// A single `resource.Quantity`.
    Quantity,
    Time,
    IntOrString,
}

#[derive(Clone, Copy)]
struct F {
    num: u64,
    name: &'static str,
    ty: Ty,
    repeated: bool,
    /// A pointer field in Go: an explicit zero value is meaningful.
    keep_zero: bool,
}

const fn f(num: u64, name: &'static str, ty: Ty) -> F {
    F {
        num,
        name,
        ty,
        repeated: false,
        keep_zero: false,
    }
}
const fn rep(num: u64, name: &'static str, ty: Ty) -> F {
    F {
        num,
        name,
        ty,
        repeated: true,
        keep_zero: false,
    }
}
const fn ptr(num: u64, name: &'static str, ty: Ty) -> F {
    F {
        num,
        name,
        ty,
        repeated: false,
        keep_zero: true,
    }
}

fn schema(msg: &str) -> Option<&'static [F]> {
    use Ty::*;
    Some(match msg {
        // authentication.k8s.io/v1 and authorization.k8s.io/v1 (k8s.io/api/authentication/v1
        // and authorization/v1 generated.proto): kubectl 1.32+ sends `auth whoami`, `auth
        // can-i` and `create token` bodies as protobuf.
        "SelfSubjectReview" => {
            const S: &[F] = &[f(1, "metadata", Msg("ObjectMeta"))];
            S
        }
        "TokenRequest" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("TokenRequestSpec")),
            ];
            S
        }
        "TokenRequestSpec" => {
            const S: &[F] = &[
                rep(1, "audiences", Str),
                f(3, "boundObjectRef", Msg("BoundObjectReference")),
                ptr(4, "expirationSeconds", Int),
            ];
            S
        }
        "BoundObjectReference" => {
            const S: &[F] = &[
                f(1, "kind", Str),
                f(2, "apiVersion", Str),
                f(3, "name", Str),
                f(4, "uid", Str),
            ];
            S
        }
        "TokenReview" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("TokenReviewSpec")),
            ];
            S
        }
        "TokenReviewSpec" => {
            const S: &[F] = &[f(1, "token", Str), rep(2, "audiences", Str)];
            S
        }
        "SelfSubjectAccessReview" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("SelfSubjectAccessReviewSpec")),
            ];
            S
        }
        "SelfSubjectAccessReviewSpec" => {
            const S: &[F] = &[
                f(1, "resourceAttributes", Msg("ResourceAttributes")),
                f(2, "nonResourceAttributes", Msg("NonResourceAttributes")),
            ];
            S
        }
        "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("SubjectAccessReviewSpec")),
            ];
            S
        }
        "SubjectAccessReviewSpec" => {
            const S: &[F] = &[
                f(1, "resourceAttributes", Msg("ResourceAttributes")),
                f(2, "nonResourceAttributes", Msg("NonResourceAttributes")),
                f(3, "user", Str),
                rep(4, "groups", Str),
                f(6, "uid", Str),
            ];
            S
        }
        "ResourceAttributes" => {
            const S: &[F] = &[
                f(1, "namespace", Str),
                f(2, "verb", Str),
                f(3, "group", Str),
                f(4, "version", Str),
                f(5, "resource", Str),
                f(6, "subresource", Str),
                f(7, "name", Str),
            ];
            S
        }
        "NonResourceAttributes" => {
            const S: &[F] = &[f(1, "path", Str), f(2, "verb", Str)];
            S
        }
        "SelfSubjectRulesReview" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("SelfSubjectRulesReviewSpec")),
            ];
            S
        }
        "SelfSubjectRulesReviewSpec" => {
            const S: &[F] = &[f(1, "namespace", Str)];
            S
        }
        "ObjectMeta" => {
            const S: &[F] = &[
                f(1, "name", Str),
                f(2, "generateName", Str),
                f(3, "namespace", Str),
                f(5, "uid", Str),
                f(6, "resourceVersion", Str),
                f(7, "generation", Int),
                f(8, "creationTimestamp", Time),
                f(9, "deletionTimestamp", Time),
                ptr(10, "deletionGracePeriodSeconds", Int),
                f(11, "labels", MapStr),
                f(12, "annotations", MapStr),
                rep(13, "ownerReferences", Msg("OwnerReference")),
                rep(14, "finalizers", Str),
            ];
            S
        }
        "OwnerReference" => {
            const S: &[F] = &[
                f(1, "kind", Str),
                f(3, "name", Str),
                f(4, "uid", Str),
                f(5, "apiVersion", Str),
                ptr(6, "controller", Bool),
                ptr(7, "blockOwnerDeletion", Bool),
            ];
            S
        }
        "ObjectReference" => {
            const S: &[F] = &[
                f(1, "kind", Str),
                f(2, "namespace", Str),
                f(3, "name", Str),
                f(4, "uid", Str),
                f(5, "apiVersion", Str),
                f(6, "resourceVersion", Str),
                f(7, "fieldPath", Str),
            ];
            S
        }
        "LocalObjectReference" => {
            const S: &[F] = &[f(1, "name", Str)];
            S
        }
        "Namespace" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("NamespaceSpec")),
            ];
            S
        }
        "NamespaceSpec" => {
            const S: &[F] = &[rep(1, "finalizers", Str)];
            S
        }
        "ConfigMap" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "data", MapStr),
                f(3, "binaryData", MapBytes),
                ptr(4, "immutable", Bool),
            ];
            S
        }
        "Secret" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "data", MapBytes),
                f(3, "type", Str),
                f(4, "stringData", MapStr),
                ptr(5, "immutable", Bool),
            ];
            S
        }
        "ServiceAccount" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                rep(2, "secrets", Msg("ObjectReference")),
                rep(3, "imagePullSecrets", Msg("LocalObjectReference")),
                ptr(4, "automountServiceAccountToken", Bool),
            ];
            S
        }
        "Service" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("ServiceSpec")),
            ];
            S
        }
        "ServiceSpec" => {
            const S: &[F] = &[
                rep(1, "ports", Msg("ServicePort")),
                f(2, "selector", MapStr),
                f(3, "clusterIP", Str),
                f(4, "type", Str),
                rep(5, "externalIPs", Str),
                f(7, "sessionAffinity", Str),
                f(8, "loadBalancerIP", Str),
                rep(9, "loadBalancerSourceRanges", Str),
                f(10, "externalName", Str),
                f(11, "externalTrafficPolicy", Str),
                f(12, "healthCheckNodePort", Int),
                f(13, "publishNotReadyAddresses", Bool),
                ptr(17, "ipFamilyPolicy", Str),
                rep(18, "clusterIPs", Str),
                rep(19, "ipFamilies", Str),
                ptr(20, "allocateLoadBalancerNodePorts", Bool),
                ptr(21, "loadBalancerClass", Str),
                ptr(22, "internalTrafficPolicy", Str),
            ];
            S
        }
        "ServicePort" => {
            const S: &[F] = &[
                f(1, "name", Str),
                f(2, "protocol", Str),
                f(3, "port", Int),
                f(4, "targetPort", IntOrString),
                f(5, "nodePort", Int),
                ptr(6, "appProtocol", Str),
            ];
            S
        }
        // apps/v1 (k8s.io/api/apps/v1/generated.proto).
        "Deployment" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("DeploymentSpec")),
            ];
            S
        }
        "DeploymentSpec" => {
            const S: &[F] = &[
                ptr(1, "replicas", Int),
                f(2, "selector", Msg("LabelSelector")),
                f(3, "template", Msg("PodTemplateSpec")),
                f(4, "strategy", Msg("DeploymentStrategy")),
                f(5, "minReadySeconds", Int),
                ptr(6, "revisionHistoryLimit", Int),
                f(7, "paused", Bool),
                ptr(9, "progressDeadlineSeconds", Int),
            ];
            S
        }
        "DeploymentStrategy" => {
            const S: &[F] = &[
                f(1, "type", Str),
                f(2, "rollingUpdate", Msg("RollingUpdateDeployment")),
            ];
            S
        }
        "RollingUpdateDeployment" => {
            const S: &[F] = &[
                f(1, "maxUnavailable", IntOrString),
                f(2, "maxSurge", IntOrString),
            ];
            S
        }
        // meta/v1.
        "LabelSelector" => {
            const S: &[F] = &[
                f(1, "matchLabels", MapStr),
                rep(2, "matchExpressions", Msg("LabelSelectorRequirement")),
            ];
            S
        }
        "LabelSelectorRequirement" => {
            const S: &[F] = &[
                f(1, "key", Str),
                f(2, "operator", Str),
                rep(3, "values", Str),
            ];
            S
        }
        // core/v1 pod templates.
        // `kubectl debug --copy-to` creates a Pod (kubectl 1.32+).
        "Pod" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("PodSpec")),
            ];
            S
        }
        "Toleration" => {
            const S: &[F] = &[
                f(1, "key", Str),
                f(2, "operator", Str),
                f(3, "value", Str),
                f(4, "effect", Str),
                ptr(5, "tolerationSeconds", Int),
            ];
            S
        }
        "EphemeralContainer" => {
            const S: &[F] = &[
                f(1, "", Inline("Container")),
                f(2, "targetContainerName", Str),
            ];
            S
        }
        "ProjectedVolumeSource" => {
            const S: &[F] = &[
                rep(1, "sources", Msg("VolumeProjection")),
                ptr(2, "defaultMode", Int),
            ];
            S
        }
        "VolumeProjection" => {
            const S: &[F] = &[
                f(1, "secret", Msg("ConfigMapProjection")),
                f(2, "downwardAPI", Msg("DownwardAPIProjection")),
                f(3, "configMap", Msg("ConfigMapProjection")),
                f(
                    4,
                    "serviceAccountToken",
                    Msg("ServiceAccountTokenProjection"),
                ),
            ];
            S
        }
        // SecretProjection has the same layout.
        "ConfigMapProjection" => {
            const S: &[F] = &[
                f(1, "", Inline("LocalObjectReference")),
                rep(2, "items", Msg("KeyToPath")),
                ptr(4, "optional", Bool),
            ];
            S
        }
        "DownwardAPIProjection" => {
            const S: &[F] = &[rep(1, "items", Msg("DownwardAPIVolumeFile"))];
            S
        }
        "DownwardAPIVolumeFile" => {
            const S: &[F] = &[
                f(1, "path", Str),
                f(2, "fieldRef", Msg("ObjectFieldSelector")),
                ptr(4, "mode", Int),
            ];
            S
        }
        "ServiceAccountTokenProjection" => {
            const S: &[F] = &[
                f(1, "audience", Str),
                ptr(2, "expirationSeconds", Int),
                f(3, "path", Str),
            ];
            S
        }
        "PodTemplateSpec" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("PodSpec")),
            ];
            S
        }
        "PodSpec" => {
            const S: &[F] = &[
                rep(1, "volumes", Msg("Volume")),
                rep(2, "containers", Msg("Container")),
                f(3, "restartPolicy", Str),
                ptr(4, "terminationGracePeriodSeconds", Int),
                ptr(5, "activeDeadlineSeconds", Int),
                f(6, "dnsPolicy", Str),
                f(7, "nodeSelector", MapStr),
                f(8, "serviceAccountName", Str),
                f(9, "serviceAccount", Str),
                f(10, "nodeName", Str),
                f(11, "hostNetwork", Bool),
                f(12, "hostPID", Bool),
                f(13, "hostIPC", Bool),
                f(14, "securityContext", Msg("PodSecurityContext")),
                rep(15, "imagePullSecrets", Msg("LocalObjectReference")),
                f(16, "hostname", Str),
                f(17, "subdomain", Str),
                f(19, "schedulerName", Str),
                rep(20, "initContainers", Msg("Container")),
                ptr(21, "automountServiceAccountToken", Bool),
                rep(22, "tolerations", Msg("Toleration")),
                f(24, "priorityClassName", Str),
                ptr(25, "priority", Int),
                ptr(27, "shareProcessNamespace", Bool),
                ptr(30, "enableServiceLinks", Bool),
                ptr(31, "preemptionPolicy", Str),
                rep(34, "ephemeralContainers", Msg("EphemeralContainer")),
            ];
            S
        }
        "PodSecurityContext" => {
            const S: &[F] = &[
                ptr(2, "runAsUser", Int),
                ptr(3, "runAsNonRoot", Bool),
                ptr(5, "fsGroup", Int),
                ptr(6, "runAsGroup", Int),
            ];
            S
        }
        "Container" => {
            const S: &[F] = &[
                f(1, "name", Str),
                f(2, "image", Str),
                rep(3, "command", Str),
                rep(4, "args", Str),
                f(5, "workingDir", Str),
                rep(6, "ports", Msg("ContainerPort")),
                rep(7, "env", Msg("EnvVar")),
                f(8, "resources", Msg("ResourceRequirements")),
                rep(9, "volumeMounts", Msg("VolumeMount")),
                f(10, "livenessProbe", Msg("Probe")),
                f(11, "readinessProbe", Msg("Probe")),
                f(13, "terminationMessagePath", Str),
                f(14, "imagePullPolicy", Str),
                f(16, "stdin", Bool),
                f(17, "stdinOnce", Bool),
                f(18, "tty", Bool),
                rep(19, "envFrom", Msg("EnvFromSource")),
                f(20, "terminationMessagePolicy", Str),
                f(22, "startupProbe", Msg("Probe")),
            ];
            S
        }
        "ContainerPort" => {
            const S: &[F] = &[
                f(1, "name", Str),
                f(2, "hostPort", Int),
                f(3, "containerPort", Int),
                f(4, "protocol", Str),
                f(5, "hostIP", Str),
            ];
            S
        }
        "EnvVar" => {
            const S: &[F] = &[
                f(1, "name", Str),
                f(2, "value", Str),
                f(3, "valueFrom", Msg("EnvVarSource")),
            ];
            S
        }
        "EnvVarSource" => {
            const S: &[F] = &[
                f(1, "fieldRef", Msg("ObjectFieldSelector")),
                f(3, "configMapKeyRef", Msg("KeySelector")),
                f(4, "secretKeyRef", Msg("KeySelector")),
            ];
            S
        }
        "ObjectFieldSelector" => {
            const S: &[F] = &[f(1, "apiVersion", Str), f(2, "fieldPath", Str)];
            S
        }
        // ConfigMapKeySelector and SecretKeySelector share their layout.
        "KeySelector" => {
            const S: &[F] = &[
                f(1, "", Inline("LocalObjectReference")),
                f(2, "key", Str),
                ptr(3, "optional", Bool),
            ];
            S
        }
        "EnvFromSource" => {
            const S: &[F] = &[
                f(1, "prefix", Str),
                f(2, "configMapRef", Msg("EnvSourceRef")),
                f(3, "secretRef", Msg("EnvSourceRef")),
            ];
            S
        }
        // ConfigMapEnvSource and SecretEnvSource share their layout.
        "EnvSourceRef" => {
            const S: &[F] = &[
                f(1, "", Inline("LocalObjectReference")),
                ptr(2, "optional", Bool),
            ];
            S
        }
        "Probe" => {
            const S: &[F] = &[
                f(1, "", Inline("ProbeHandler")),
                f(2, "initialDelaySeconds", Int),
                f(3, "timeoutSeconds", Int),
                f(4, "periodSeconds", Int),
                f(5, "successThreshold", Int),
                f(6, "failureThreshold", Int),
            ];
            S
        }
        "ProbeHandler" => {
            const S: &[F] = &[
                f(1, "exec", Msg("ExecAction")),
                f(2, "httpGet", Msg("HTTPGetAction")),
                f(3, "tcpSocket", Msg("TCPSocketAction")),
            ];
            S
        }
        "ExecAction" => {
            const S: &[F] = &[rep(1, "command", Str)];
            S
        }
        "HTTPGetAction" => {
            const S: &[F] = &[
                f(1, "path", Str),
                f(2, "port", IntOrString),
                f(3, "host", Str),
                f(4, "scheme", Str),
            ];
            S
        }
        "TCPSocketAction" => {
            const S: &[F] = &[f(1, "port", IntOrString), f(2, "host", Str)];
            S
        }
        "Volume" => {
            const S: &[F] = &[f(1, "name", Str), f(2, "", Inline("VolumeSource"))];
            S
        }
        "VolumeSource" => {
            const S: &[F] = &[
                f(1, "hostPath", Msg("HostPathVolumeSource")),
                f(2, "emptyDir", Msg("EmptyDirVolumeSource")),
                f(6, "secret", Msg("SecretVolumeSource")),
                f(
                    10,
                    "persistentVolumeClaim",
                    Msg("PersistentVolumeClaimVolumeSource"),
                ),
                f(19, "configMap", Msg("ConfigMapVolumeSource")),
                f(26, "projected", Msg("ProjectedVolumeSource")),
            ];
            S
        }
        "HostPathVolumeSource" => {
            const S: &[F] = &[f(1, "path", Str), ptr(2, "type", Str)];
            S
        }
        "EmptyDirVolumeSource" => {
            const S: &[F] = &[f(1, "medium", Str), f(2, "sizeLimit", Quantity)];
            S
        }
        "SecretVolumeSource" => {
            const S: &[F] = &[
                f(1, "secretName", Str),
                rep(2, "items", Msg("KeyToPath")),
                ptr(3, "defaultMode", Int),
                ptr(4, "optional", Bool),
            ];
            S
        }
        "ConfigMapVolumeSource" => {
            const S: &[F] = &[
                f(1, "", Inline("LocalObjectReference")),
                rep(2, "items", Msg("KeyToPath")),
                ptr(3, "defaultMode", Int),
                ptr(4, "optional", Bool),
            ];
            S
        }
        "PersistentVolumeClaimVolumeSource" => {
            const S: &[F] = &[f(1, "claimName", Str), f(2, "readOnly", Bool)];
            S
        }
        "KeyToPath" => {
            const S: &[F] = &[f(1, "key", Str), f(2, "path", Str), ptr(3, "mode", Int)];
            S
        }
        "ResourceRequirements" => {
            const S: &[F] = &[f(1, "limits", MapQuantity), f(2, "requests", MapQuantity)];
            S
        }
        "VolumeMount" => {
            const S: &[F] = &[
                f(1, "name", Str),
                f(2, "readOnly", Bool),
                f(3, "mountPath", Str),
                f(4, "subPath", Str),
            ];
            S
        }
        // batch/v1 (k8s.io/api/batch/v1/generated.proto).
        "Job" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("JobSpec")),
            ];
            S
        }
        "JobSpec" => {
            const S: &[F] = &[
                ptr(1, "parallelism", Int),
                ptr(2, "completions", Int),
                ptr(3, "activeDeadlineSeconds", Int),
                f(4, "selector", Msg("LabelSelector")),
                ptr(5, "manualSelector", Bool),
                f(6, "template", Msg("PodTemplateSpec")),
                ptr(7, "backoffLimit", Int),
                ptr(8, "ttlSecondsAfterFinished", Int),
                ptr(9, "completionMode", Str),
                ptr(10, "suspend", Bool),
                ptr(12, "backoffLimitPerIndex", Int),
                ptr(13, "maxFailedIndexes", Int),
                ptr(14, "podReplacementPolicy", Str),
                ptr(15, "managedBy", Str),
            ];
            S
        }
        "CronJob" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("CronJobSpec")),
            ];
            S
        }
        "CronJobSpec" => {
            const S: &[F] = &[
                f(1, "schedule", Str),
                ptr(2, "startingDeadlineSeconds", Int),
                f(3, "concurrencyPolicy", Str),
                ptr(4, "suspend", Bool),
                f(5, "jobTemplate", Msg("JobTemplateSpec")),
                ptr(6, "successfulJobsHistoryLimit", Int),
                ptr(7, "failedJobsHistoryLimit", Int),
                ptr(8, "timeZone", Str),
            ];
            S
        }
        "JobTemplateSpec" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("JobSpec")),
            ];
            S
        }
        // policy/v1 (k8s.io/api/policy/v1/generated.proto): `kubectl create pdb` and the
        // Evictions `kubectl drain` posts; meta/v1 DeleteOptions for the latter.
        "PodDisruptionBudget" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("PodDisruptionBudgetSpec")),
            ];
            S
        }
        "PodDisruptionBudgetSpec" => {
            const S: &[F] = &[
                ptr(1, "minAvailable", IntOrString),
                f(2, "selector", Msg("LabelSelector")),
                ptr(3, "maxUnavailable", IntOrString),
                ptr(4, "unhealthyPodEvictionPolicy", Str),
            ];
            S
        }
        "Eviction" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "deleteOptions", Msg("DeleteOptions")),
            ];
            S
        }
        "DeleteOptions" => {
            const S: &[F] = &[
                ptr(1, "gracePeriodSeconds", Int),
                f(2, "preconditions", Msg("Preconditions")),
                ptr(3, "orphanDependents", Bool),
                ptr(4, "propagationPolicy", Str),
                rep(5, "dryRun", Str),
            ];
            S
        }
        "Preconditions" => {
            const S: &[F] = &[ptr(1, "uid", Str), ptr(2, "resourceVersion", Str)];
            S
        }
        // rbac/v1 (k8s.io/api/rbac/v1/generated.proto): `kubectl create role|clusterrole|
        // rolebinding|clusterrolebinding`.
        "Role" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                rep(2, "rules", Msg("PolicyRule")),
            ];
            S
        }
        "ClusterRole" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                rep(2, "rules", Msg("PolicyRule")),
                f(3, "aggregationRule", Msg("AggregationRule")),
            ];
            S
        }
        "AggregationRule" => {
            const S: &[F] = &[rep(1, "clusterRoleSelectors", Msg("LabelSelector"))];
            S
        }
        "PolicyRule" => {
            const S: &[F] = &[
                rep(1, "verbs", Str),
                rep(2, "apiGroups", Str),
                rep(3, "resources", Str),
                rep(4, "resourceNames", Str),
                rep(5, "nonResourceURLs", Str),
            ];
            S
        }
        "RoleBinding" | "ClusterRoleBinding" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                rep(2, "subjects", Msg("Subject")),
                f(3, "roleRef", Msg("RoleRef")),
            ];
            S
        }
        "Subject" => {
            const S: &[F] = &[
                f(1, "kind", Str),
                f(2, "apiGroup", Str),
                f(3, "name", Str),
                f(4, "namespace", Str),
            ];
            S
        }
        "RoleRef" => {
            const S: &[F] = &[f(1, "apiGroup", Str), f(2, "kind", Str), f(3, "name", Str)];
            S
        }
        // core/v1 ResourceQuota (k8s.io/api/core/v1/generated.proto): `kubectl create quota`.
        "ResourceQuota" => {
            const S: &[F] = &[
                f(1, "metadata", Msg("ObjectMeta")),
                f(2, "spec", Msg("ResourceQuotaSpec")),
                f(3, "status", Msg("ResourceQuotaStatus")),
            ];
            S
        }
        "ResourceQuotaSpec" => {
            const S: &[F] = &[
                f(1, "hard", MapQuantity),
                rep(2, "scopes", Str),
                f(3, "scopeSelector", Msg("ScopeSelector")),
            ];
            S
        }
        "ResourceQuotaStatus" => {
            const S: &[F] = &[f(1, "hard", MapQuantity), f(2, "used", MapQuantity)];
            S
        }
        "ScopeSelector" => {
            const S: &[F] = &[rep(
                1,
                "matchExpressions",
                Msg("ScopedResourceSelectorRequirement"),
            )];
            S
        }
        "ScopedResourceSelectorRequirement" => {
            const S: &[F] = &[
                f(1, "scopeName", Str),
                f(2, "operator", Str),
                rep(3, "values", Str),
            ];
            S
        }
        _ => return None,
    })
}

/// Kinds whose protobuf bodies can be decoded.
pub fn supports(kind: &str) -> bool {
    matches!(
        kind,
        "Namespace"
            | "SelfSubjectReview"
            | "TokenRequest"
            | "TokenReview"
            | "SelfSubjectAccessReview"
            | "SubjectAccessReview"
            | "LocalSubjectAccessReview"
            | "SelfSubjectRulesReview"
            | "ConfigMap"
            | "Secret"
            | "ServiceAccount"
            | "Service"
            | "Deployment"
            | "Job"
            | "CronJob"
            | "Pod"
            | "PodDisruptionBudget"
            | "Eviction"
            | "Role"
            | "ClusterRole"
            | "RoleBinding"
            | "ClusterRoleBinding"
            | "ResourceQuota"
    )
}

/// Why a protobuf body was not decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoError {
    /// Not a Kubernetes protobuf envelope, or truncated.
    Malformed(String),
    /// A kind without a protobuf schema here.
    Unsupported(String),
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = *self
                .b
                .get(self.pos)
                .ok_or_else(|| ProtoError::Malformed("unexpected EOF".into()))?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ProtoError::Malformed("varint overflow".into()))
    }

    fn bytes(&mut self) -> Result<&'a [u8], ProtoError> {
        let len = usize::try_from(self.varint()?)
            .map_err(|_| ProtoError::Malformed("length overflow".into()))?;
        let end = self.pos.checked_add(len).filter(|e| *e <= self.b.len());
        let end = end.ok_or_else(|| ProtoError::Malformed("unexpected EOF".into()))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn skip(&mut self, wire: u64) -> Result<(), ProtoError> {
        let n = match wire {
            0 => return self.varint().map(|_| ()),
            1 => 8,
            2 => return self.bytes().map(|_| ()),
            5 => 4,
            w => return Err(ProtoError::Malformed(format!("unsupported wire type {w}"))),
        };
        if self.pos + n > self.b.len() {
            return Err(ProtoError::Malformed("unexpected EOF".into()));
        }
        self.pos += n;
        Ok(())
    }

    /// Iterate (field number, wire type) keys.
    fn next_key(&mut self) -> Result<Option<(u64, u64)>, ProtoError> {
        if self.pos >= self.b.len() {
            return Ok(None);
        }
        let k = self.varint()?;
        Ok(Some((k >> 3, k & 7)))
    }
}

fn string(b: &[u8]) -> Result<String, ProtoError> {
    String::from_utf8(b.to_vec())
        .map_err(|_| ProtoError::Malformed("invalid UTF-8 in a string field".into()))
}

fn map_entry(b: &[u8], ty: Ty) -> Result<(String, Value), ProtoError> {
    let mut r = Reader { b, pos: 0 };
    let (mut k, mut v) = (String::new(), Value::String(String::new()));
    while let Some((num, wire)) = r.next_key()? {
        match (num, wire) {
            (1, 2) => k = string(r.bytes()?)?,
            (2, 2) if matches!(ty, Ty::MapBytes) => {
                v = Value::String(base64::engine::general_purpose::STANDARD.encode(r.bytes()?))
            }
            (2, 2) if matches!(ty, Ty::MapQuantity) => v = quantity(r.bytes()?)?,
            (2, 2) => v = Value::String(string(r.bytes()?)?),
            (_, w) => r.skip(w)?,
        }
    }
    Ok((k, v))
}

/// `resource.Quantity` travels as a message holding its string form.
fn quantity(b: &[u8]) -> Result<Value, ProtoError> {
    let mut r = Reader { b, pos: 0 };
    let mut q = String::new();
    while let Some((num, wire)) = r.next_key()? {
        match (num, wire) {
            (1, 2) => q = string(r.bytes()?)?,
            (_, w) => r.skip(w)?,
        }
    }
    Ok(Value::String(q))
}

fn time(b: &[u8]) -> Result<Option<Value>, ProtoError> {
    let mut r = Reader { b, pos: 0 };
    let (mut secs, mut nanos) = (0i64, 0i64);
    while let Some((num, wire)) = r.next_key()? {
        match (num, wire) {
            (1, 0) => secs = r.varint()? as i64,
            (2, 0) => nanos = r.varint()? as i64,
            (_, w) => r.skip(w)?,
        }
    }
    if secs == 0 && nanos == 0 {
        return Ok(None);
    }
    let ts =
        jiff::Timestamp::from_second(secs).map_err(|e| ProtoError::Malformed(e.to_string()))?;
    Ok(Some(Value::String(crate::clock::rfc3339(ts))))
}

fn int_or_string(b: &[u8]) -> Result<Value, ProtoError> {
    let mut r = Reader { b, pos: 0 };
    let (mut ty, mut iv, mut sv) = (0u64, 0i64, String::new());
    while let Some((num, wire)) = r.next_key()? {
        match (num, wire) {
            (1, 0) => ty = r.varint()?,
            (2, 0) => iv = i64::from(r.varint()? as i32),
            (3, 2) => sv = string(r.bytes()?)?,
            (_, w) => r.skip(w)?,
        }
    }
    Ok(if ty == 1 {
        Value::String(sv)
    } else {
        Value::from(iv)
    })
}

fn message(b: &[u8], name: &str) -> Result<Value, ProtoError> {
    let fields = schema(name).ok_or_else(|| ProtoError::Unsupported(name.to_string()))?;
    let mut out = Map::new();
    let mut r = Reader { b, pos: 0 };
    while let Some((num, wire)) = r.next_key()? {
        let Some(fd) = fields.iter().find(|fd| fd.num == num) else {
            r.skip(wire)?;
            continue;
        };
        let value: Option<Value> = match (fd.ty, wire) {
            (Ty::Str, 2) => Some(Value::String(string(r.bytes()?)?))
                .filter(|v| fd.keep_zero || fd.repeated || v != ""),
            (Ty::Int, 0) => {
                let v = r.varint()? as i64;
                (fd.keep_zero || v != 0).then(|| Value::from(v))
            }
            (Ty::Bool, 0) => {
                let v = r.varint()? != 0;
                (fd.keep_zero || v).then_some(Value::Bool(v))
            }
            (Ty::Msg(m), 2) => Some(message(r.bytes()?, m)?),
            (Ty::Inline(m), 2) => {
                if let Value::Object(inner) = message(r.bytes()?, m)? {
                    out.extend(inner);
                }
                None
            }
            (Ty::Quantity, 2) => Some(quantity(r.bytes()?)?).filter(|q| q != ""),
            (Ty::Time, 2) => time(r.bytes()?)?,
            (Ty::IntOrString, 2) => Some(int_or_string(r.bytes()?)?),
            (Ty::MapStr | Ty::MapBytes | Ty::MapQuantity, 2) => {
                let (k, v) = map_entry(r.bytes()?, fd.ty)?;
                let m = out
                    .entry(fd.name)
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(m) = m.as_object_mut() {
                    m.insert(k, v);
                }
                None
            }
            (_, w) => {
                r.skip(w)?;
                None
            }
        };
        if let Some(v) = value {
            if fd.repeated {
                let arr = out.entry(fd.name).or_insert_with(|| Value::Array(vec![]));
                if let Some(a) = arr.as_array_mut() {
                    a.push(v);
                }
            } else {
                out.insert(fd.name.to_string(), v);
            }
        }
    }
    Ok(Value::Object(out))
}

/// Decode a `k8s\0`-framed protobuf object into the JSON a client would have sent.
pub fn decode_object(body: &[u8]) -> Result<Value, ProtoError> {
    let rest = body
        .strip_prefix(b"k8s\0")
        .ok_or_else(|| ProtoError::Malformed("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]".into()))?;
    let mut r = Reader { b: rest, pos: 0 };
    let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
    while let Some((num, wire)) = r.next_key()? {
        match (num, wire) {
            (1, 2) => {
                let mut tm = Reader {
                    b: r.bytes()?,
                    pos: 0,
                };
                while let Some((n, w)) = tm.next_key()? {
                    match (n, w) {
                        (1, 2) => api_version = string(tm.bytes()?)?,
                        (2, 2) => kind = string(tm.bytes()?)?,
                        (_, w) => tm.skip(w)?,
                    }
                }
            }
            (2, 2) => raw = r.bytes()?,
            (_, w) => r.skip(w)?,
        }
    }
    if !supports(&kind) {
        return Err(ProtoError::Unsupported(kind));
    }
    let mut obj = message(raw, &kind)?;
    obj["apiVersion"] = Value::String(api_version);
    obj["kind"] = Value::String(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Bodies captured from kubectl 1.33 (`-v=9`).
    #[test]
    fn decodes_kubectl_create_configmap() {
        let b = hex(
            "6b3873000a0f0a0276311209436f6e6669674d617012270a130a03636d3112001a0022002a0032003800420012060a016112016212080a026b32120276321a002200",
        );
        let v = decode_object(&b).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm1"},"data":{"a":"b","k2":"v2"}})
        );
    }

    #[test]
    fn decodes_kubectl_create_service() {
        let b = hex(
            "6b3873000a0d0a027631120753657276696365126c0a210a047376633112001a0022002a003200380042005a0b0a0361707012047376633112430a1b0a0738302d38303830120354435018502207080010903f1a002800120b0a036170701204737663311a002209436c757374657249503a00420052005a00600068001a020a001a002200",
        );
        let v = decode_object(&b).unwrap();
        assert_eq!(
            v["metadata"],
            json!({"name":"svc1","labels":{"app":"svc1"}})
        );
        assert_eq!(
            v["spec"]["ports"],
            json!([{"name":"80-8080","protocol":"TCP","port":80,"targetPort":8080}])
        );
        assert_eq!(v["spec"]["type"], "ClusterIP");
        assert_eq!(v["spec"]["selector"], json!({"app":"svc1"}));
    }

    // kubectl 1.33 `create deployment web --image=nginx:1.27 --replicas=0 --port=80`.
    #[test]
    fn decodes_kubectl_create_deployment() {
        let b = hex(
            "6b3873000a150a07617070732f7631120a4465706c6f796d656e7412c0010a220a0377656212001a0363617022002a003200380042005a0a0a036170701203776562128b010800120c0a0a0a0361707012037765621a710a1c0a0012001a0022002a003200380042005a0a0a036170701203776562125112330a056e67696e78120a6e67696e783a312e32372a00320a0a001000185022002a0042006a007200800100880100900100a201001a00320042004a0052005800600068008201008a01009a0100c2010022020a00280038001a0c0800100018002000280038001a002200",
        );
        let v = decode_object(&b).unwrap();
        assert_eq!(v["apiVersion"], "apps/v1");
        assert_eq!(
            v["metadata"],
            json!({"name":"web","namespace":"cap","labels":{"app":"web"}})
        );
        assert_eq!(
            v["spec"]["replicas"], 0,
            "an explicit zero survives (a pointer field)"
        );
        assert_eq!(v["spec"]["selector"], json!({"matchLabels":{"app":"web"}}));
        assert_eq!(v["spec"]["strategy"], json!({}));
        assert_eq!(
            v["spec"]["template"]["metadata"],
            json!({"labels":{"app":"web"}})
        );
        assert_eq!(
            v["spec"]["template"]["spec"]["containers"],
            json!([{"name":"nginx","image":"nginx:1.27","ports":[{"containerPort":80}],"resources":{}}])
        );
    }

    // kubectl 1.33 `create job pi --image=busybox:1.36 -- echo hi`.
    #[test]
    fn decodes_kubectl_create_job() {
        let b = hex(
            "6b3873000a0f0a0862617463682f763112034a6f62128c010a150a02706912001a0363617022002a00320038004200126932670a100a0012001a0022002a00320038004200125312300a027069120c62757379626f783a312e33361a046563686f1a0268692a0042006a007200800100880100900100a201001a054e65766572320042004a0052005800600068008201008a01009a0100c201001a082000280030003a001a002200",
        );
        let v = decode_object(&b).unwrap();
        assert_eq!(v["kind"], "Job");
        assert_eq!(v["metadata"]["name"], "pi");
        let spec = &v["spec"]["template"]["spec"];
        assert_eq!(spec["restartPolicy"], "Never");
        assert_eq!(
            spec["containers"],
            json!([{"name":"pi","image":"busybox:1.36","command":["echo","hi"],"resources":{}}])
        );
        assert!(
            v["spec"].get("selector").is_none(),
            "the server generates it"
        );
    }

    // kubectl 1.33 `create cronjob hello --image=busybox:1.36 --schedule="*/5 * * * *" -- date`.
    #[test]
    fn decodes_kubectl_create_cronjob() {
        let b = hex(
            "6b3873000a130a0862617463682f7631120743726f6e4a6f6212b6010a180a0568656c6c6f12001a0363617022002a003200380042001297010a0b2a2f35202a202a202a202a1a002a85010a150a0568656c6c6f12001a0022002a00320038004200126c326a0a100a0012001a0022002a003200380042001256122f0a0568656c6c6f120c62757379626f783a312e33361a04646174652a0042006a007200800100880100900100a201001a094f6e4661696c757265320042004a0052005800600068008201008a01009a0100c201001a001a002200",
        );
        let v = decode_object(&b).unwrap();
        assert_eq!(v["kind"], "CronJob");
        assert_eq!(v["spec"]["schedule"], "*/5 * * * *");
        assert_eq!(v["spec"]["jobTemplate"]["metadata"]["name"], "hello");
        let spec = &v["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        assert_eq!(spec["restartPolicy"], "OnFailure");
        assert_eq!(spec["containers"][0]["command"], json!(["date"]));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        assert!(decode_object(b"k8s\0\x0a\xff").is_err());
        assert!(decode_object(b"nope").is_err());
        assert!(matches!(
            decode_object(b"k8s\0"),
            Err(ProtoError::Unsupported(_))
        ));
    }
}
