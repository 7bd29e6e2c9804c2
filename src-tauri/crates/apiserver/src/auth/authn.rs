//! Token authentication: who a bearer token belongs to (Kubernetes: `k8s.io/apiserver/pkg/
//! endpoints/filters/authentication.go`, the token union in `pkg/kubeapiserver/authenticator/
//! config.go`, and the ServiceAccount token issuer and validator in `pkg/serviceaccount/
//! {jwt,claims}.go`).
//!
//! Two kinds of token are accepted:
//! * the learner's kubeconfig token, which is kubeadm's `kubernetes-admin`
//!   ([`UserInfo::cluster_admin`]);
//! * ServiceAccount tokens the cluster issued (TokenRequest, `kubectl create token`): JWTs
//!   signed with a P-256 key made when the cluster starts (so no token outlives its cluster),
//!   carrying kube-apiserver's claims (`iss`, `sub`, `aud`, `iat`, `nbf`, `exp`, `jti`,
//!   `kubernetes.io{namespace, serviceaccount, pod?, node?}`). A token is checked on every use,
//!   as kube-apiserver's validator does: signature, issuer, audience, expiry on the cluster's
//!   clock with go-jose's one-minute leeway, and the ServiceAccount (and bound pod) still
//!   existing with the UIDs the token names.
//!
//! Any other token is refused, which the server answers with 401 `Unauthorized`; a request
//! with no token at all is `system:anonymous` (see `http::respond`).

use std::collections::BTreeMap;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::UserInfo;
use crate::kinds;
use crate::storage::Store;

/// The issuer kubeadm configures (`--service-account-issuer`), which is also the API
/// server's audience (`--api-audiences` defaults to the issuer).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

/// go-jose's `jwt.DefaultLeeway`: the validator accepts a token this many seconds past its
/// `exp` (and before its `nbf`).
const LEEWAY_SECONDS: i64 = 60;

/// Extra keys kube-apiserver puts on a ServiceAccount user (`k8s.io/apiserver/pkg/
/// authentication/serviceaccount/util.go`).
pub const EXTRA_CREDENTIAL_ID: &str = "authentication.kubernetes.io/credential-id";
/// The bound pod's name.
pub const EXTRA_POD_NAME: &str = "authentication.kubernetes.io/pod-name";
/// The bound pod's UID.
pub const EXTRA_POD_UID: &str = "authentication.kubernetes.io/pod-uid";
/// The bound pod's node name.
pub const EXTRA_NODE_NAME: &str = "authentication.kubernetes.io/node-name";
/// The bound pod's node UID.
pub const EXTRA_NODE_UID: &str = "authentication.kubernetes.io/node-uid";

/// The cluster's ServiceAccount token key (kubeadm's `sa.key`), made at start.
pub struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// The key id kube-apiserver puts in a token's header: the base64url SHA-256 of the
    /// public key's DER (`pkg/serviceaccount/jwt.go` `keyIDFromPublicKey`).
    kid: String,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Default for TokenSigner {
    fn default() -> Self {
        TokenSigner::generate()
    }
}

/// The DER prefix of a P-256 SubjectPublicKeyInfo, before the 65-byte uncompressed point.
const P256_SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

impl TokenSigner {
    /// A fresh P-256 key.
    pub fn generate() -> TokenSigner {
        use base64::Engine as _;
        use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let rng = ring::rand::SystemRandom::new();
        // Key generation only fails when the system has no randomness, which leaves the
        // cluster unable to serve TLS either.
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .expect("the system random source");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .expect("a key ring just generated");
        let public = pair.public_key().as_ref().to_vec();
        let mut spki = P256_SPKI_PREFIX.to_vec();
        spki.extend_from_slice(&public);
        let digest = ring::digest::digest(&ring::digest::SHA256, &spki);
        TokenSigner {
            encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
            decoding: DecodingKey::from_ec_der(&public),
            kid: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()),
        }
    }

    /// A signed token carrying `claims`.
    pub fn sign(&self, claims: &Claims) -> Result<String, String> {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| e.to_string())
    }

    /// The claims of a token this key signed for [`ISSUER`]; `None` when the token is not
    /// one of ours (another issuer, a bad signature, not a JWT at all).
    fn verify(&self, token: &str) -> Option<Claims> {
        let mut v = Validation::new(Algorithm::ES256);
        // Times are checked against the cluster's clock, audiences against the API
        // server's, below.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        v.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &v)
            .ok()
            .map(|d| d.claims)
    }
}

/// A name and UID in a token's private claims (`pkg/serviceaccount/claims.go` `ref`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ref {
    /// Object name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Object UID.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
}

/// The `kubernetes.io` private claims.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KubeClaims {
    /// The ServiceAccount's namespace.
    #[serde(default)]
    pub namespace: String,
    /// The ServiceAccount.
    #[serde(default)]
    pub serviceaccount: Ref,
    /// The pod the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod: Option<Ref>,
    /// The secret the token is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Ref>,
    /// The node of the bound pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<Ref>,
}

/// A ServiceAccount token's claims, in kube-apiserver's order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Audiences.
    pub aud: Vec<String>,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Issuer.
    pub iss: String,
    /// Token id (the credential id is `JTI=<jti>`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jti: String,
    /// The private claims.
    #[serde(rename = "kubernetes.io")]
    pub kubernetes: KubeClaims,
    /// Not before.
    pub nbf: i64,
    /// Subject: `system:serviceaccount:<ns>:<name>`.
    pub sub: String,
}

/// `system:serviceaccount:<ns>:<name>` (`serviceaccount.MakeUsername`).
pub fn service_account_username(ns: &str, name: &str) -> String {
    format!("system:serviceaccount:{ns}:{name}")
}

/// `(namespace, name)` of a ServiceAccount user name (`serviceaccount.SplitUsername`).
pub fn split_service_account_username(user: &str) -> Option<(&str, &str)> {
    let rest = user.strip_prefix("system:serviceaccount:")?;
    let (ns, name) = rest.split_once(':')?;
    if ns.is_empty() || name.is_empty() || name.contains(':') {
        return None;
    }
    Some((ns, name))
}

/// The groups of every ServiceAccount in `ns` (`serviceaccount.MakeGroupNames`).
pub fn service_account_groups(ns: &str) -> Vec<String> {
    vec![
        "system:serviceaccounts".into(),
        format!("system:serviceaccounts:{ns}"),
    ]
}

/// What a token is bound to besides its ServiceAccount (`spec.boundObjectRef`).
#[derive(Debug, Clone, Default)]
pub struct Binding {
    /// A pod, stored object.
    pub pod: Option<Value>,
    /// A secret, stored object.
    pub secret: Option<Value>,
    /// A node: the bound node, or the node of the bound pod (its UID empty when the node
    /// object is gone).
    pub node: Option<Ref>,
}

fn reference(o: &Value) -> Ref {
    Ref {
        name: kinds::name_of(o).to_string(),
        uid: kinds::str_at(o, "/metadata/uid").to_string(),
    }
}

/// The claims of a token for the ServiceAccount `sa` (a stored object), valid from `now`
/// (Unix seconds) for `expiration_seconds` (`pkg/serviceaccount/claims.go` `Claims`).
pub fn claims_for(
    sa: &Value,
    binding: &Binding,
    now: i64,
    expiration_seconds: i64,
    audiences: Vec<String>,
) -> Claims {
    let ns = kinds::namespace_of(sa).to_string();
    let name = kinds::name_of(sa).to_string();
    Claims {
        aud: audiences,
        exp: now.saturating_add(expiration_seconds),
        iat: now,
        iss: ISSUER.into(),
        jti: uuid::Uuid::new_v4().to_string(),
        kubernetes: KubeClaims {
            namespace: ns.clone(),
            serviceaccount: reference(sa),
            pod: binding.pod.as_ref().map(reference),
            secret: binding.secret.as_ref().map(reference),
            node: binding.node.clone(),
        },
        nbf: now,
        sub: service_account_username(&ns, &name),
    }
}

/// `TokenRequest`'s defaults and validation (`pkg/apis/authentication/v1/defaults.go`,
/// `validation.go`) and kube-apiserver's TokenREST (`pkg/registry/core/serviceaccount/
/// storage/token.go`): the token for ServiceAccount `name` in `ns` that `body` asks for,
/// as the TokenRequest kube-apiserver answers.
pub fn token_request(
    store: &Store,
    signer: &TokenSigner,
    ns: &str,
    name: &str,
    body: &Value,
) -> crate::Result<Value> {
    use crate::error::Error;
    use kq_kube::validation::FieldError;
    let invalid = |name: &str, causes: Vec<FieldError>| Error::Invalid {
        group: "authentication.k8s.io".into(),
        kind: "TokenRequest".into(),
        name: name.into(),
        causes,
    };
    let meta_name = kinds::name_of(body);
    if !meta_name.is_empty() && meta_name != name {
        return Err(invalid(
            name,
            vec![FieldError::invalid(
                "metadata.name",
                meta_name,
                "must match the service account name if specified",
            )],
        ));
    }
    let meta_ns = kinds::namespace_of(body);
    if !meta_ns.is_empty() && meta_ns != ns {
        return Err(invalid(
            name,
            vec![FieldError::invalid(
                "metadata.namespace",
                meta_ns,
                "must match the service account namespace if specified",
            )],
        ));
    }
    let sa = store
        .get_raw(&kinds::serviceaccount::KIND, ns, name)
        .ok_or_else(|| Error::not_found("", "serviceaccounts", name))?;
    let spec = body.get("spec").cloned().unwrap_or_default();
    let mut audiences: Vec<String> = spec
        .get("audiences")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if audiences.is_empty() {
        audiences = vec![ISSUER.to_string()];
    }
    let expiration = match spec.get("expirationSeconds") {
        None | Some(Value::Null) => 3600,
        Some(v) => v.as_i64().unwrap_or_default(),
    };
    let mut causes = Vec::new();
    if expiration < 600 {
        causes.push(FieldError::invalid_num(
            "spec.expirationSeconds",
            expiration,
            "may not specify a duration less than 10 minutes",
        ));
    }
    if expiration > 1i64 << 32 {
        causes.push(FieldError::invalid_num(
            "spec.expirationSeconds",
            expiration,
            "may not specify a duration larger than 2^32 seconds",
        ));
    }
    if !causes.is_empty() {
        return Err(invalid("", causes));
    }
    let now_ts = store.clock().now();
    let now = now_ts.as_second();
    let mut binding = Binding::default();
    let bound = spec.get("boundObjectRef").filter(|v| v.is_object());
    if let Some(r) = bound {
        let api_version = r
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = r.get("kind").and_then(Value::as_str).unwrap_or_default();
        let ref_name = r.get("name").and_then(Value::as_str).unwrap_or_default();
        let ref_uid = r.get("uid").and_then(Value::as_str).unwrap_or_default();
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let uid = match (group, kind) {
            ("", "Pod") => {
                let pod = store
                    .get_raw(&kinds::pod::KIND, ns, ref_name)
                    .ok_or_else(|| Error::not_found("", "pods", ref_name))?;
                if kinds::str_at(&pod, "/spec/serviceAccountName") != name {
                    return Err(Error::BadRequest(format!(
                        "cannot bind token for serviceaccount \"{name}\" to pod running with different serviceaccount name."
                    )));
                }
                let node_name = kinds::str_at(&pod, "/spec/nodeName");
                if !node_name.is_empty() {
                    let uid = store
                        .get_raw(&kinds::node::KIND, "", node_name)
                        .map(|n| kinds::str_at(&n, "/metadata/uid").to_string())
                        .unwrap_or_default();
                    binding.node = Some(Ref {
                        name: node_name.into(),
                        uid,
                    });
                }
                let uid = kinds::str_at(&pod, "/metadata/uid").to_string();
                binding.pod = Some((*pod).clone());
                uid
            }
            ("", "Secret") => {
                let secret = store
                    .get_raw(&kinds::secret::KIND, ns, ref_name)
                    .ok_or_else(|| Error::not_found("", "secrets", ref_name))?;
                let uid = kinds::str_at(&secret, "/metadata/uid").to_string();
                binding.secret = Some((*secret).clone());
                uid
            }
            ("", "Node") => {
                let node = store
                    .get_raw(&kinds::node::KIND, "", ref_name)
                    .ok_or_else(|| Error::not_found("", "nodes", ref_name))?;
                let node = reference(&node);
                let uid = node.uid.clone();
                binding.node = Some(node);
                uid
            }
            _ => {
                return Err(Error::BadRequest(format!(
                    "cannot bind token to object of type {group}/{version}, Kind={kind}"
                )));
            }
        };
        if !ref_uid.is_empty() && ref_uid != uid {
            return Err(Error::Conflict {
                group: group.into(),
                resource: kind.into(),
                name: ref_name.into(),
                detail: format!(
                    "the UID in the bound object reference ({ref_uid}) does not match the UID in record. The object might have been deleted and then recreated"
                ),
            });
        }
    }
    let claims = claims_for(&sa, &binding, now, expiration, audiences.clone());
    let token = signer
        .sign(&claims)
        .map_err(|e| Error::Internal(format!("failed to generate token: {e}")))?;
    let expires = now_ts
        .checked_add(jiff::SignedDuration::from_secs(expiration))
        .unwrap_or(now_ts);
    Ok(serde_json::json!({
        "kind": "TokenRequest",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {
            "name": name,
            "namespace": ns,
            "creationTimestamp": crate::clock::rfc3339(now_ts),
        },
        "spec": {
            "audiences": audiences,
            "expirationSeconds": expiration,
            "boundObjectRef": bound.cloned().unwrap_or(Value::Null),
        },
        "status": {
            "token": token,
            "expirationTimestamp": crate::clock::rfc3339(expires),
        }
    }))
}

/// Why a token was refused (kube-apiserver logs these; TokenReview reports them).
pub type AuthnError = String;

/// The user behind `token`, or why it is not accepted.
pub fn authenticate_token(
    store: &Store,
    signer: &TokenSigner,
    learner_token: &str,
    token: &str,
) -> Result<UserInfo, AuthnError> {
    let (a, b) = (token.as_bytes(), learner_token.as_bytes());
    // Constant-time comparison: the learner's token is a credential.
    if !b.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    {
        return Ok(UserInfo::cluster_admin());
    }
    let Some(claims) = signer.verify(token) else {
        return Err("invalid bearer token".into());
    };
    validate_claims(store, &claims)
}

/// kube-apiserver's ServiceAccount token validator (`pkg/serviceaccount/claims.go`
/// `validator.Validate`) plus the audience check of `pkg/serviceaccount/jwt.go`.
fn validate_claims(store: &Store, c: &Claims) -> Result<UserInfo, AuthnError> {
    if !c.aud.iter().any(|a| a == ISSUER) {
        return Err("token audiences is invalid".into());
    }
    let now = store.clock().now().as_second();
    if now > c.exp.saturating_add(LEEWAY_SECONDS) {
        return Err("service account token has expired".into());
    }
    if now < c.nbf.saturating_sub(LEEWAY_SECONDS) {
        return Err("service account token is not valid yet".into());
    }
    if now < c.iat.saturating_sub(LEEWAY_SECONDS) {
        return Err("service account token is issued in the future".into());
    }
    let k = &c.kubernetes;
    let ns = &k.namespace;
    let sa_name = &k.serviceaccount.name;
    let sa = store
        .get_raw(&kinds::serviceaccount::KIND, ns, sa_name)
        .ok_or_else(|| format!("serviceaccounts \"{sa_name}\" not found"))?;
    let sa_uid = kinds::str_at(&sa, "/metadata/uid");
    if sa_uid != k.serviceaccount.uid {
        return Err(format!(
            "service account UID ({sa_uid}) does not match claim ({})",
            k.serviceaccount.uid
        ));
    }
    if sa.pointer("/metadata/deletionTimestamp").is_some() {
        return Err(format!("service account {ns}/{sa_name} has been deleted"));
    }
    let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(secret) = &k.secret {
        let s = store
            .get_raw(&kinds::secret::KIND, ns, &secret.name)
            .ok_or_else(|| "service account token has been invalidated".to_string())?;
        let uid = kinds::str_at(&s, "/metadata/uid");
        if uid != secret.uid {
            return Err(format!(
                "secret UID ({uid}) does not match service account secret ref claim ({})",
                secret.uid
            ));
        }
    }
    if let Some(pod) = &k.pod {
        let p = store
            .get_raw(&kinds::pod::KIND, ns, &pod.name)
            .ok_or_else(|| "service account token has been invalidated".to_string())?;
        let uid = kinds::str_at(&p, "/metadata/uid");
        if uid != pod.uid {
            return Err(format!(
                "pod UID ({uid}) does not match service account pod ref claim ({})",
                pod.uid
            ));
        }
        if p.pointer("/metadata/deletionTimestamp").is_some() {
            return Err("service account token has been invalidated".into());
        }
        extra.insert(EXTRA_POD_NAME.into(), vec![pod.name.clone()]);
        extra.insert(EXTRA_POD_UID.into(), vec![pod.uid.clone()]);
        if let Some(node) = &k.node {
            extra.insert(EXTRA_NODE_NAME.into(), vec![node.name.clone()]);
            if !node.uid.is_empty() {
                extra.insert(EXTRA_NODE_UID.into(), vec![node.uid.clone()]);
            }
        }
    }
    if k.pod.is_none()
        && let Some(node) = &k.node
    {
        let n = store
            .get_raw(&kinds::node::KIND, "", &node.name)
            .ok_or_else(|| "service account token has been invalidated".to_string())?;
        let uid = kinds::str_at(&n, "/metadata/uid");
        if uid != node.uid {
            return Err(format!(
                "node UID ({uid}) does not match service account node ref claim ({})",
                node.uid
            ));
        }
        extra.insert(EXTRA_NODE_NAME.into(), vec![node.name.clone()]);
        extra.insert(EXTRA_NODE_UID.into(), vec![node.uid.clone()]);
    }
    if !c.jti.is_empty() {
        extra.insert(EXTRA_CREDENTIAL_ID.into(), vec![format!("JTI={}", c.jti)]);
    }
    let mut groups = service_account_groups(ns);
    groups.push("system:authenticated".into());
    Ok(UserInfo {
        name: service_account_username(ns, sa_name),
        uid: k.serviceaccount.uid.clone(),
        groups,
        extra,
    })
}

/// The bearer token of an `Authorization` header value, if it carries one.
pub fn bearer(header: &str) -> Option<&str> {
    // kube-apiserver's bearer-token authenticator matches the scheme case-insensitively.
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteOptions;
    use serde_json::json;

    fn store_with_sa() -> (std::sync::Arc<Store>, Value) {
        let clock = crate::clock::Clock::new(0.0);
        let store = Store::new(std::sync::Arc::new(clock), String::new(), 10);
        store
            .create(
                &kinds::namespace::KIND,
                "",
                json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}}),
                &WriteOptions::default(),
            )
            .expect("a namespace");
        let sa = store
            .create(
                &kinds::serviceaccount::KIND,
                "dev",
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot", "namespace": "dev"}}),
                &WriteOptions::default(),
            )
            .expect("a service account")
            .object;
        (store, sa)
    }

    fn token(store: &Store, signer: &TokenSigner, sa: &Value, seconds: i64) -> String {
        let now = store.clock().now().as_second();
        let c = claims_for(sa, &Binding::default(), now, seconds, vec![ISSUER.into()]);
        signer.sign(&c).expect("a signed token")
    }

    #[test]
    fn the_learner_token_is_the_kubeadm_admin_and_nothing_else_is() {
        let (store, _) = store_with_sa();
        let signer = TokenSigner::generate();
        assert_eq!(
            authenticate_token(&store, &signer, "secret", "secret"),
            Ok(UserInfo::cluster_admin())
        );
        assert!(authenticate_token(&store, &signer, "secret", "secreT").is_err());
        assert!(authenticate_token(&store, &signer, "secret", "a.b.c").is_err());
    }

    #[test]
    fn a_service_account_token_is_the_service_account_with_its_groups_and_credential_id() {
        let (store, sa) = store_with_sa();
        let signer = TokenSigner::generate();
        let t = token(&store, &signer, &sa, 3600);
        let user = authenticate_token(&store, &signer, "secret", &t).expect("a valid token");
        assert_eq!(user.name, "system:serviceaccount:dev:bot");
        assert_eq!(user.uid, kinds::str_at(&sa, "/metadata/uid"));
        assert_eq!(
            user.groups,
            [
                "system:serviceaccounts",
                "system:serviceaccounts:dev",
                "system:authenticated"
            ]
        );
        let id = &user.extra[EXTRA_CREDENTIAL_ID];
        assert!(id[0].starts_with("JTI="), "{id:?}");
    }

    #[test]
    fn another_clusters_token_and_a_deleted_account_are_refused() {
        let (store, sa) = store_with_sa();
        let signer = TokenSigner::generate();
        let other = TokenSigner::generate();
        let t = token(&store, &other, &sa, 3600);
        assert!(authenticate_token(&store, &signer, "secret", &t).is_err());
        let t = token(&store, &signer, &sa, 3600);
        store
            .delete(
                &kinds::serviceaccount::KIND,
                "dev",
                "bot",
                &Default::default(),
            )
            .expect("deleted");
        assert_eq!(
            authenticate_token(&store, &signer, "secret", &t),
            Err("serviceaccounts \"bot\" not found".into())
        );
    }

    #[test]
    fn a_token_expires_on_the_cluster_clock_after_a_minute_of_leeway() {
        let (store, sa) = store_with_sa();
        let signer = TokenSigner::generate();
        let t = token(&store, &signer, &sa, 600);
        store
            .clock()
            .advance(std::time::Duration::from_secs(600 + 60));
        assert!(authenticate_token(&store, &signer, "secret", &t).is_ok());
        store.clock().advance(std::time::Duration::from_secs(2));
        assert_eq!(
            authenticate_token(&store, &signer, "secret", &t),
            Err("service account token has expired".into())
        );
    }

    #[test]
    fn a_token_request_defaults_to_an_hour_and_the_token_authenticates() {
        let (store, sa) = store_with_sa();
        let signer = TokenSigner::generate();
        let out =
            token_request(&store, &signer, "dev", "bot", &json!({"spec": {}})).expect("a token");
        assert_eq!(out["spec"]["expirationSeconds"], json!(3600));
        assert_eq!(out["spec"]["audiences"], json!([ISSUER]));
        let t = out["status"]["token"].as_str().expect("a token string");
        let user = authenticate_token(&store, &signer, "learner", t).expect("it authenticates");
        assert_eq!(user.uid, kinds::str_at(&sa, "/metadata/uid"));
    }

    #[test]
    fn a_token_request_is_refused_with_kube_apiservers_texts() {
        let (store, _) = store_with_sa();
        let signer = TokenSigner::generate();
        let e = token_request(
            &store,
            &signer,
            "dev",
            "bot",
            &json!({"spec": {"expirationSeconds": 60}}),
        )
        .expect_err("too short");
        assert_eq!(
            e.to_string(),
            "TokenRequest.authentication.k8s.io \"\" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes"
        );
        let e =
            token_request(&store, &signer, "dev", "nope", &json!({})).expect_err("no such account");
        assert_eq!(e.to_string(), "serviceaccounts \"nope\" not found");
        let e = token_request(
            &store,
            &signer,
            "dev",
            "bot",
            &json!({"spec": {"boundObjectRef": {"apiVersion": "v1", "kind": "ConfigMap", "name": "x"}}}),
        )
        .expect_err("not a bindable kind");
        assert_eq!(
            e.to_string(),
            "cannot bind token to object of type /v1, Kind=ConfigMap"
        );
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_needs_a_token() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer abc"), Some("abc"));
        assert_eq!(bearer("BEARER  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
    }

    #[test]
    fn service_account_user_names_split_like_kubernetes() {
        assert_eq!(
            split_service_account_username("system:serviceaccount:dev:bot"),
            Some(("dev", "bot"))
        );
        assert_eq!(
            split_service_account_username("system:serviceaccount:dev"),
            None
        );
        assert_eq!(split_service_account_username("jane"), None);
    }
}
