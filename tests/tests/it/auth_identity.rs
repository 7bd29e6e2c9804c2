//! Authentication, impersonation, TokenRequest and the review APIs: create token, auth can-i, auth whoami.
