//! Image pulls: the pull policy, an image already present on the node, a pull in progress and
//! its result, and the per-image pull back-off (`ErrImagePull`, then `ImagePullBackOff`).
//! Kubernetes keeps it in `pkg/kubelet/images/image_manager.go` (`EnsureImageExists`) and
//! `images/puller.go`.

use std::collections::HashMap;
use std::time::Duration;

use jiff::Timestamp;

use super::Backoff;
use super::add;
use super::go_duration_ms;
use super::kinds;
use super::pod_worker::{Worker, plan_sync};
use super::runtime::{ImageInfo, RuntimeError, StoreObjects};
use super::{Ctx, Kubelet, Outcome, jitter};

/// The node's images and the pull back-off, as `image_manager.go`'s `imageManager` with its
/// `backOff`.
#[derive(Debug)]
pub(super) struct Images {
    /// Images on the node, by normalized reference.
    present: HashMap<String, ImageInfo>,
    /// Per `<pod uid>_<image>`: the pull back-off (10 s doubling to the cap).
    pub(super) backoff: Backoff,
    /// Per `<pod uid>_<image>`: the last pull error, which `ImagePullBackOff` quotes.
    last_error: HashMap<String, String>,
}

impl Images {
    pub(super) fn new(max_backoff: Duration) -> Self {
        Images {
            present: HashMap::new(),
            backoff: Backoff::new(Duration::from_secs(10), max_backoff),
            last_error: HashMap::new(),
        }
    }

    /// An image already on the node (a fresh node has the pause image).
    pub(super) fn preload(&mut self, info: ImageInfo) {
        self.present.insert(info.image.clone(), info);
    }
}

/// A pull in progress for one container: the sync that comes at `done_at` reports `result`.
#[derive(Debug)]
pub(super) struct Pull {
    pub(super) image: String,
    pub(super) started: Timestamp,
    pub(super) done_at: Timestamp,
    pub(super) result: Result<ImageInfo, RuntimeError>,
}

impl Kubelet {
    pub(super) fn ensure_image(&mut self, w: &mut Worker, i: usize, cx: &mut Ctx<'_>) -> Outcome {
        let image = w.ctrs[i].spec.image.clone().unwrap_or_default();
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let normalized = match self.runtime.normalize(&image) {
            Ok(n) => n,
            Err(error) => {
                let msg = error.to_string();
                self.event(cx, &reg, "Warning", "InspectFailed", &msg);
                self.event(cx, &reg, "Warning", "Failed", "Error: InvalidImageName");
                w.ctrs[i].wait_because("InvalidImageName", msg);
                return Outcome::Failed;
            }
        };
        let policy = w.ctrs[i]
            .spec
            .image_pull_policy
            .clone()
            .unwrap_or_else(|| kinds::pod::default_pull_policy(&image).to_string());
        let present = self.images.present.get(&normalized).cloned();
        if let Some(info) = &present
            && policy != "Always"
        {
            self.event(
                cx,
                &reg,
                "Normal",
                "Pulled",
                &format!("Container image \"{image}\" already present on machine"),
            );
            w.ctrs[i].image = Some(info.for_request(&image));
            return Outcome::Ok;
        }
        if policy == "Never" {
            let msg =
                format!("Container image \"{image}\" is not present with pull policy of Never");
            self.event(cx, &reg, "Warning", "ErrImageNeverPull", &msg);
            self.event(cx, &reg, "Warning", "Failed", "Error: ErrImageNeverPull");
            w.ctrs[i].wait_because("ErrImageNeverPull", msg);
            return Outcome::Failed;
        }
        let key = format!("{}_{image}", w.uid);
        if self.images.backoff.in_backoff_since_update(&key, cx.now) {
            let msg = format!("Back-off pulling image \"{image}\"");
            self.event(cx, &reg, "Normal", "BackOff", &msg);
            self.event(cx, &reg, "Warning", "Failed", "Error: ImagePullBackOff");
            let detail = self
                .images
                .last_error
                .get(&key)
                .cloned()
                .unwrap_or_default();
            w.ctrs[i].wait_because("ImagePullBackOff", format!("{msg}: ErrImagePull: {detail}"));
            return Outcome::Failed;
        }
        self.event(
            cx,
            &reg,
            "Normal",
            "Pulling",
            &format!("Pulling image \"{image}\""),
        );
        let creds = self
            .runtime
            .pull_credentials(&StoreObjects(cx.store), &w.ns, &w.pod);
        let result = self.runtime.resolve(&image, &creds);
        let took = match (&result, &present) {
            (Ok(_), Some(_)) => jitter(
                cx.rng,
                Duration::from_millis(300),
                Duration::from_millis(500),
            ),
            (Ok(info), None) => self.runtime.pull_time(info.size),
            (Err(_), _) => jitter(
                cx.rng,
                Duration::from_millis(400),
                Duration::from_millis(800),
            ),
        };
        let done_at = add(cx.now, took);
        w.ctrs[i].pull = Some(Pull {
            image,
            started: cx.now,
            done_at,
            result,
        });
        plan_sync(w, done_at, cx.wakes);
        Outcome::Busy
    }

    /// Returns whether the image is now there.
    pub(super) fn finish_pull(&mut self, w: &mut Worker, i: usize, cx: &mut Ctx<'_>) -> bool {
        let Some(pull) = w.ctrs[i].pull.take() else {
            return false;
        };
        let reg = w.regarding(Some(w.ctrs[i].field_path()));
        let key = format!("{}_{}", w.uid, pull.image);
        match pull.result {
            Ok(info) => {
                let took =
                    Duration::try_from(cx.now.duration_since(pull.started)).unwrap_or_default();
                let took = go_duration_ms(took);
                self.event(cx, &reg, "Normal", "Pulled", &format!(
                    "Successfully pulled image \"{}\" in {took} ({took} including waiting). Image size: {} bytes.",
                    pull.image, info.size
                ));
                self.images.preload(info.clone());
                self.images.backoff.gc(cx.now);
                self.images.last_error.remove(&key);
                w.ctrs[i].image = Some(info.for_request(&pull.image));
                true
            }
            Err(error) => {
                let msg = error.to_string();
                self.event(
                    cx,
                    &reg,
                    "Warning",
                    "Failed",
                    &format!("Failed to pull image \"{}\": {msg}", pull.image),
                );
                self.event(cx, &reg, "Warning", "Failed", "Error: ErrImagePull");
                self.images.backoff.next(&key, cx.now, cx.now);
                self.images.last_error.insert(key, msg.clone());
                w.ctrs[i].wait_because("ErrImagePull", msg);
                false
            }
        }
    }
}
