//! kubectl explain and client-side validation against the embedded cluster's OpenAPI v2/v3.
