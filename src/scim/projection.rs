//! `attributes` and `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9): which attributes an
//! answer holds. `id` and `schemas` are always there; names are compared ignoring case and
//! may carry their schema (`urn:…:enterprise:2.0:User:department`, or the extension's URN
//! alone for all of it) or a sub-attribute (`name.givenName`).

use serde_json::{Map, Value};

use super::filter::AttrPath;

/// The comma-separated names of a query parameter (or the strings of a search body's list).
pub fn names(list: Option<&str>) -> Vec<String> {
    list.unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Where a name points: (extension URN or none, attribute or none for the whole extension,
/// sub-attribute).
fn target(
    name: &str,
    extensions: &[&str],
) -> Option<(Option<String>, Option<String>, Option<String>)> {
    if let Some(ext) = extensions.iter().find(|e| e.eq_ignore_ascii_case(name)) {
        return Some((Some((*ext).to_string()), None, None));
    }
    let path = AttrPath::parse(name)?;
    let ext = path.uri.as_ref().and_then(|u| {
        extensions
            .iter()
            .find(|e| e.eq_ignore_ascii_case(u))
            .map(|e| (*e).to_string())
    });
    Some((ext, Some(path.attr), path.sub))
}

fn key_of(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// `resource` with only `attributes` (when any are named) and without `excluded`.
pub fn project(
    resource: Value,
    attributes: &[String],
    excluded: &[String],
    extensions: &[&str],
) -> Value {
    let Value::Object(mut full) = resource else {
        return resource;
    };
    if !attributes.is_empty() {
        let mut out = Map::new();
        for keep in ["schemas", "id"] {
            if let Some(v) = full.get(keep) {
                out.insert(keep.into(), v.clone());
            }
        }
        for name in attributes {
            let Some((ext, attr, sub)) = target(name, extensions) else {
                continue;
            };
            let (from, into): (&Map<String, Value>, &mut Map<String, Value>) = match &ext {
                Some(e) => {
                    let Some(Value::Object(src)) = full.get(e) else {
                        continue;
                    };
                    let dst = out
                        .entry(e.clone())
                        .or_insert_with(|| Value::Object(Map::new()));
                    match (attr.as_ref(), dst) {
                        (None, dst) => {
                            *dst = Value::Object(src.clone());
                            continue;
                        }
                        (Some(_), Value::Object(d)) => (src, d),
                        _ => continue,
                    }
                }
                None => (&full, &mut out),
            };
            let Some(attr) = attr else { continue };
            let Some(k) = key_of(from, &attr) else {
                continue;
            };
            match (&sub, &from[&k]) {
                (None, v) => {
                    into.insert(k, v.clone());
                }
                (Some(sub), Value::Object(o)) => {
                    if let Some(sk) = key_of(o, sub) {
                        let dst = into.entry(k).or_insert_with(|| Value::Object(Map::new()));
                        if let Value::Object(d) = dst {
                            d.insert(sk.clone(), o[&sk].clone());
                        }
                    }
                }
                (Some(sub), Value::Array(items)) => {
                    let picked: Vec<Value> = items
                        .iter()
                        .filter_map(|i| {
                            let o = i.as_object()?;
                            let sk = key_of(o, sub)?;
                            let mut m = Map::new();
                            m.insert(sk.clone(), o[&sk].clone());
                            Some(Value::Object(m))
                        })
                        .collect();
                    into.insert(k, Value::Array(picked));
                }
                _ => {}
            }
        }
        full = out;
    }
    for name in excluded {
        let Some((ext, attr, sub)) = target(name, extensions) else {
            continue;
        };
        if ["id", "schemas"]
            .iter()
            .any(|a| attr.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(a)))
            && ext.is_none()
        {
            continue;
        }
        let obj: &mut Map<String, Value> = match &ext {
            Some(e) => match (attr.as_ref(), full.get_mut(e)) {
                (None, _) => {
                    full.remove(e);
                    continue;
                }
                (Some(_), Some(Value::Object(o))) => o,
                _ => continue,
            },
            None => &mut full,
        };
        let Some(attr) = attr else { continue };
        let Some(k) = key_of(obj, &attr) else {
            continue;
        };
        match &sub {
            None => {
                obj.remove(&k);
            }
            Some(sub) => match obj.get_mut(&k) {
                Some(Value::Object(o)) => {
                    if let Some(sk) = key_of(o, sub) {
                        o.remove(&sk);
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut().filter_map(Value::as_object_mut) {
                        if let Some(sk) = key_of(i, sub) {
                            i.remove(&sk);
                        }
                    }
                }
                _ => {}
            },
        }
    }
    Value::Object(full)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EXT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn user() -> Value {
        json!({"schemas": ["s"], "id": "7", "userName": "ada", "name": {"givenName": "Ada", "familyName": "L"},
               "emails": [{"value": "a@b.c", "type": "work"}], EXT: {"department": "R", "employeeNumber": "1"},
               "meta": {"version": "W/\"1\""}})
    }

    #[test]
    fn attributes_keep_only_what_is_named_and_id() {
        let v = project(
            user(),
            &names(Some("userName, NAME.givenName,emails.value")),
            &[],
            &[EXT],
        );
        assert_eq!(
            v,
            json!({"schemas": ["s"], "id": "7", "userName": "ada", "name": {"givenName": "Ada"},
                             "emails": [{"value": "a@b.c"}]})
        );
        let v = project(
            user(),
            &names(Some(&format!("{EXT}:department"))),
            &[],
            &[EXT],
        );
        assert_eq!(v[EXT], json!({"department": "R"}));
        let v = project(user(), &names(Some(EXT)), &[], &[EXT]);
        assert_eq!(v[EXT]["employeeNumber"], "1");
    }

    #[test]
    fn excluded_attributes_leave_but_id_stays() {
        let v = project(
            user(),
            &[],
            &names(Some(&format!("name,id,{EXT}:employeeNumber,emails.type"))),
            &[EXT],
        );
        assert!(v.get("name").is_none());
        assert_eq!(v["id"], "7");
        assert_eq!(v[EXT], json!({"department": "R"}));
        assert_eq!(v["emails"], json!([{"value": "a@b.c"}]));
        let v = project(user(), &[], &names(Some(EXT)), &[EXT]);
        assert!(v.get(EXT).is_none());
    }
}
