//! The offline image registry catalog: which images and tags exist, and what pulling them says.
