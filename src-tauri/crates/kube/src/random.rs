//! Randomness: object name suffixes (`generateName`, `kube-api-access-xxxxx`) and the bearer
//! token. The token comes from the operating system's CSPRNG through the TLS crypto
//! provider, so nothing guessable guards the API.

/// Kubernetes' alphabet for generated names: no vowels (no accidental words) and no
/// look-alike characters.
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn random_bytes(buf: &mut [u8]) {
    let provider = rustls::crypto::ring::default_provider();
    if provider.secure_random.fill(buf).is_err() {
        // The OS generator failing is unrecoverable for security; fall back to v4 UUID bytes,
        // which come from the same OS source through a different path.
        for chunk in buf.chunks_mut(16) {
            let u = uuid::Uuid::new_v4();
            chunk.copy_from_slice(&u.as_bytes()[..chunk.len()]);
        }
    }
}

/// Five random characters, like the suffix `generateName` appends.
pub fn name_suffix() -> String {
    let mut b = [0u8; 5];
    random_bytes(&mut b);
    b.iter()
        .map(|x| ALPHABET[usize::from(*x) % ALPHABET.len()] as char)
        .collect()
}

/// A 256-bit bearer token as 64 lowercase hex characters.
pub fn token() -> String {
    let mut b = [0u8; 32];
    random_bytes(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// `n` random lowercase hex characters (container IDs, machine IDs).
pub fn hex(n: usize) -> String {
    let mut b = vec![0u8; n.div_ceil(2)];
    random_bytes(&mut b);
    let mut s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    s.truncate(n);
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        assert_eq!(super::name_suffix().len(), 5);
        let t = super::token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, super::token(), "tokens must differ between calls");
        assert_eq!(super::hex(7).len(), 7);
    }
}
