//! The seat a kubeconfig gives its user in a class: which class, and which learner (or the
//! teacher). Prepare writes it as a context extension named
//! [`SEAT_EXTENSION`](super::SEAT_EXTENSION) (`{class, learner}`, or `{class, teacher: true}`);
//! kubectl ignores extensions and keeps them when it rewrites the file, and KubeQuest reads them
//! to play the class's missions in the learner's namespaces.

use kube::config::Kubeconfig;

use super::{MAX_LEARNER_CHARS, SEAT_EXTENSION, is_dns_label};

/// Who a class kubeconfig belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seat {
    /// The class name.
    pub class: String,
    /// The learner; `None` for the teacher.
    pub learner: Option<String>,
}

impl Seat {
    /// The seat of `context` (the current context when `None`), if its context carries the
    /// class extension with a usable class and learner name (or `teacher: true`).
    pub fn from_kubeconfig(config: &Kubeconfig, context: Option<&str>) -> Option<Seat> {
        let name = context.or(config.current_context.as_deref())?;
        let ctx = config
            .contexts
            .iter()
            .find(|c| c.name == name)?
            .context
            .as_ref()?;
        let ext = ctx
            .extensions
            .as_ref()?
            .iter()
            .find(|e| e.name == SEAT_EXTENSION)?;
        Seat::from_extension(&ext.extension)
    }

    /// Reads the extension's value.
    pub fn from_extension(value: &serde_json::Value) -> Option<Seat> {
        let class = value.get("class")?.as_str()?;
        if !is_dns_label(class, 63) {
            return None;
        }
        let learner = match value.get("learner").and_then(|l| l.as_str()) {
            Some(l) if is_dns_label(l, MAX_LEARNER_CHARS) => Some(l.to_owned()),
            Some(_) => return None,
            None if value.get("teacher").and_then(serde_json::Value::as_bool) == Some(true) => None,
            None => return None,
        };
        Some(Seat {
            class: class.to_owned(),
            learner,
        })
    }

    /// The extension's value for this seat.
    pub fn to_extension(&self) -> serde_json::Value {
        match &self.learner {
            Some(l) => serde_json::json!({ "class": self.class, "learner": l }),
            None => serde_json::json!({ "class": self.class, "teacher": true }),
        }
    }

    /// The context name prepare writes: `kq-class-<class>-<learner>` (or `-teacher`).
    pub fn context_name(&self) -> String {
        format!(
            "kq-class-{}-{}",
            self.class,
            self.learner.as_deref().unwrap_or(super::TEACHER_ACCOUNT)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_without_the_extension_has_no_seat() {
        let cfg: Kubeconfig = serde_yaml_ng::from_str(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: c\n  context:\n    cluster: x\n    user: y\n",
        )
        .unwrap();
        assert_eq!(Seat::from_kubeconfig(&cfg, None), None);
    }

    #[test]
    fn a_bad_learner_name_in_the_extension_is_no_seat() {
        let bad = serde_json::json!({"class": "c", "learner": "../etc"});
        assert_eq!(
            Seat::from_extension(&bad),
            None,
            "never trust a path-like name"
        );
        let teacher = serde_json::json!({"class": "c", "teacher": true});
        assert_eq!(
            Seat::from_extension(&teacher),
            Some(Seat {
                class: "c".into(),
                learner: None
            })
        );
    }
}
