//! Query strings as clients send them: `application/x-www-form-urlencoded` pairs, where `+` is a
//! space and `%XX` a byte (Go's `url.ParseQuery`, which kube-apiserver uses). The embedded API
//! server decodes its requests with it, and the engine the queries its audit log recorded.

/// Decodes `+` and `%XX`; a `%` not followed by two hex digits stays as it is, and bytes that
/// are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The decoded values of `key` in `query`, in order (`command=ls&command=%2Fetc`).
pub fn values<'a>(query: &'a str, key: &'a str) -> impl Iterator<Item = String> + 'a {
    query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .filter_map(move |kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k) == key).then(|| percent_decode(v))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plus_and_escapes_are_decoded_and_a_lone_percent_stays() {
        assert_eq!(
            percent_decode("involvedObject.name%3Dweb%2Ctype%3DWarning"),
            "involvedObject.name=web,type=Warning"
        );
        assert_eq!(percent_decode("a+b"), "a b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    #[test]
    fn every_value_of_a_key_in_order() {
        let q = "command=ls&container=web&command=%2Fetc&previous=true";
        assert_eq!(values(q, "command").collect::<Vec<_>>(), ["ls", "/etc"]);
        assert_eq!(values(q, "follow").count(), 0);
    }
}
