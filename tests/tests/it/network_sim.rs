//! Scaffolding: tests land with the networking and streaming work.
