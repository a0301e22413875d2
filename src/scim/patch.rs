//! SCIM PATCH (RFC 7644 §3.5.2): operations applied to a resource's JSON as the service
//! shows it; the result is then read and saved like a PUT, so a PATCH obeys exactly the rules
//! a replacement does. The shapes Okta and Entra ID send are all read: `op` in any case
//! (`"Replace"`), no path with an object of attributes (also with dotted or URN-prefixed
//! keys), paths with filters (`emails[type eq "work"].value`) that create the element when
//! none matches, and extension attributes by their schema URN.

use serde_json::{Map, Value};

use super::filter::{self, PatchPath};
#[cfg(test)]
use super::users::ENTERPRISE_SCHEMA;
use super::users::EXTENSIONS;
use super::{ScimError, ScimResult, PATCH_SCHEMA};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct Operation {
    pub kind: Kind,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

/// The operations of a PatchOp body, checked.
pub fn operations(body: &Value) -> ScimResult<Vec<Operation>> {
    let obj = body
        .as_object()
        .ok_or_else(|| ScimError::bad(Some("invalidSyntax"), "The body must be a JSON object."))?;
    if let Some(schemas) = super::users::member(obj, "schemas") {
        let named = schemas
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x.as_str() == Some(PATCH_SCHEMA)));
        if !named {
            return Err(ScimError::bad(
                Some("invalidSyntax"),
                format!("A PATCH body names the schema {PATCH_SCHEMA}."),
            ));
        }
    }
    let ops = super::users::member(obj, "Operations")
        .and_then(Value::as_array)
        .ok_or_else(|| ScimError::bad(Some("invalidSyntax"), "Operations must be a list."))?;
    if ops.is_empty() {
        return Err(ScimError::bad(
            Some("invalidSyntax"),
            "Operations is empty.",
        ));
    }
    if ops.len() > 1000 {
        return Err(ScimError::bad(
            Some("tooMany"),
            "At most 1000 operations at once.",
        ));
    }
    ops.iter()
        .map(|op| {
            let o = op.as_object().ok_or_else(|| {
                ScimError::bad(Some("invalidSyntax"), "Each operation is an object.")
            })?;
            let kind = match super::users::member(o, "op").and_then(Value::as_str) {
                Some(k) if k.eq_ignore_ascii_case("add") => Kind::Add,
                Some(k) if k.eq_ignore_ascii_case("replace") => Kind::Replace,
                Some(k) if k.eq_ignore_ascii_case("remove") => Kind::Remove,
                _ => {
                    return Err(ScimError::bad(
                        Some("invalidSyntax"),
                        "op must be add, replace or remove.",
                    ))
                }
            };
            let path = match super::users::member(o, "path") {
                None => None,
                Some(Value::String(p)) if p.trim().is_empty() => None,
                Some(Value::String(p)) => Some(
                    filter::parse_patch_path(p)
                        .map_err(|e| ScimError::bad(Some("invalidPath"), e.0))?,
                ),
                Some(_) => {
                    return Err(ScimError::bad(
                        Some("invalidPath"),
                        "path must be a string.",
                    ))
                }
            };
            let value = super::users::member(o, "value").cloned();
            if kind == Kind::Remove && path.is_none() {
                return Err(ScimError::bad(Some("noTarget"), "A remove needs a path."));
            }
            if kind != Kind::Remove && value.is_none() {
                return Err(ScimError::bad(
                    Some("invalidValue"),
                    "An add or replace needs a value.",
                ));
            }
            Ok(Operation { kind, path, value })
        })
        .collect()
}

/// `resource` with every operation applied, in order.
pub fn apply(mut resource: Value, ops: &[Operation]) -> ScimResult<Value> {
    for op in ops {
        match &op.path {
            Some(path) => apply_path(&mut resource, op.kind, path, op.value.clone())?,
            None => {
                let Some(Value::Object(fields)) = &op.value else {
                    return Err(ScimError::bad(
                        Some("invalidValue"),
                        "Without a path the value is an object of attributes.",
                    ));
                };
                for (key, value) in fields {
                    if let Some(schema) = extension(key) {
                        let Value::Object(ext) = value else {
                            return Err(ScimError::invalid("The extension's value is an object."));
                        };
                        for (k, v) in ext {
                            let path = filter::parse_patch_path(&format!("{schema}:{k}"))
                                .map_err(|e| ScimError::bad(Some("invalidPath"), e.0))?;
                            apply_path(&mut resource, op.kind, &path, Some(v.clone()))?;
                        }
                        continue;
                    }
                    let path = filter::parse_patch_path(key)
                        .map_err(|e| ScimError::bad(Some("invalidPath"), e.0))?;
                    apply_path(&mut resource, op.kind, &path, Some(value.clone()))?;
                }
            }
        }
    }
    Ok(resource)
}

/// The user extension `uri` names (ignoring case), as this server spells it.
fn extension(uri: &str) -> Option<&'static str> {
    EXTENSIONS
        .iter()
        .find(|e| e.eq_ignore_ascii_case(uri))
        .copied()
}

/// The key of `obj` named `name` ignoring case, or `name` itself when there is none.
fn key_in(obj: &Map<String, Value>, name: &str) -> String {
    obj.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_string())
}

fn apply_path(
    resource: &mut Value,
    kind: Kind,
    path: &PatchPath,
    value: Option<Value>,
) -> ScimResult<()> {
    let attr_name = &path.attr.attr;
    if ["id", "meta", "schemas"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(attr_name))
        && path.attr.uri.is_none()
    {
        // Read-only: a provider echoing them back changes nothing.
        return Ok(());
    }
    let root = resource
        .as_object_mut()
        .ok_or_else(|| ScimError::invalid("The resource is not an object."))?;
    // The extension's URN alone names all of it.
    if let Some(uri) = &path.attr.uri {
        let whole = extension(&format!("{uri}:{attr_name}"));
        if let Some(schema) = whole.filter(|_| path.filter.is_none() && path.attr.sub.is_none()) {
            let key = key_in(root, schema);
            match (kind, value) {
                (Kind::Remove, _) => {
                    root.remove(&key);
                }
                (Kind::Add, Some(Value::Object(more))) => {
                    match root.entry(key).or_insert_with(|| Value::Object(Map::new())) {
                        Value::Object(existing) => existing.extend(more),
                        other => *other = Value::Object(more),
                    }
                }
                (_, Some(v @ Value::Object(_))) => {
                    root.insert(key, v);
                }
                _ => return Err(ScimError::invalid("The extension's value is an object.")),
            }
            return Ok(());
        }
    }
    // An extension attribute lives in the extension's object.
    let target: &mut Map<String, Value> = match &path.attr.uri {
        Some(uri) if extension(uri).is_some() => {
            let k = key_in(root, extension(uri).expect("matched"));
            let ext = root.entry(k).or_insert_with(|| Value::Object(Map::new()));
            if !ext.is_object() {
                *ext = Value::Object(Map::new());
            }
            ext.as_object_mut().expect("made an object")
        }
        Some(uri)
            if uri
                .to_ascii_lowercase()
                .starts_with("urn:ietf:params:scim:schemas:core:2.0:") =>
        {
            root
        }
        Some(uri) => {
            return Err(ScimError::bad(
                Some("invalidPath"),
                format!("The schema {uri} is not one of this resource's."),
            ))
        }
        None => root,
    };
    let key = key_in(target, attr_name);
    match (&path.filter, path.attr.sub.as_ref().or(path.sub.as_ref())) {
        // attr
        (None, None) => match kind {
            // Entra ID removes members this way: the path and the elements to take out.
            Kind::Remove if value.is_some() && target.get(&key).is_some_and(Value::is_array) => {
                let gone: Vec<Value> = match value {
                    Some(Value::Array(items)) => items,
                    Some(other) => vec![other],
                    None => Vec::new(),
                };
                let same = |a: &Value, b: &Value| match (a.get("value"), b.get("value")) {
                    (Some(x), Some(y)) => x == y,
                    _ => a == b,
                };
                if let Some(Value::Array(items)) = target.get_mut(&key) {
                    items.retain(|item| !gone.iter().any(|g| same(item, g)));
                }
            }
            Kind::Remove => {
                target.remove(&key);
            }
            Kind::Replace => {
                target.insert(key, value.unwrap_or(Value::Null));
            }
            Kind::Add => {
                let value = value.unwrap_or(Value::Null);
                match (target.get_mut(&key), value) {
                    (Some(Value::Array(items)), Value::Array(more)) => {
                        for v in more {
                            if !items.contains(&v) {
                                items.push(v);
                            }
                        }
                    }
                    (Some(Value::Object(existing)), Value::Object(more)) => {
                        existing.extend(more);
                    }
                    (_, v) => {
                        target.insert(key, v);
                    }
                }
            }
        },
        // attr.sub (a complex attribute's sub-attribute, or of every element)
        (None, Some(sub)) => {
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            match entry {
                Value::Object(o) => set_sub(o, kind, sub, value),
                Value::Array(items) => {
                    for item in items.iter_mut().filter_map(Value::as_object_mut) {
                        set_sub(item, kind, sub, value.clone());
                    }
                }
                other => {
                    *other = Value::Object(Map::new());
                    set_sub(other.as_object_mut().expect("an object"), kind, sub, value);
                }
            }
        }
        // attr[filter] and attr[filter].sub
        (Some(f), sub) => {
            let entry = target
                .entry(key)
                .or_insert_with(|| Value::Array(Vec::new()));
            if !entry.is_array() {
                *entry = Value::Array(Vec::new());
            }
            let items = entry.as_array_mut().expect("an array");
            let matching: Vec<usize> = items
                .iter()
                .enumerate()
                .filter(|(_, item)| filter::matches(f, item))
                .map(|(i, _)| i)
                .collect();
            match (kind, sub) {
                (Kind::Remove, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        let keep = !matching.contains(&i);
                        i += 1;
                        keep
                    });
                }
                (Kind::Remove, Some(sub)) => {
                    for i in matching {
                        if let Some(o) = items[i].as_object_mut() {
                            set_sub(o, Kind::Remove, sub, None);
                        }
                    }
                }
                (_, Some(sub)) if matching.is_empty() => {
                    // Entra: `emails[type eq "work"].value` on a user without one adds it.
                    let mut element = element_from(f);
                    set_sub(&mut element, kind, sub, value);
                    items.push(Value::Object(element));
                }
                (_, Some(sub)) => {
                    for i in matching {
                        if let Some(o) = items[i].as_object_mut() {
                            set_sub(o, kind, sub, value.clone());
                        }
                    }
                }
                (_, None) if matching.is_empty() => {
                    let mut element = element_from(f);
                    if let Some(Value::Object(v)) = value {
                        element.extend(v);
                    }
                    items.push(Value::Object(element));
                }
                (Kind::Replace, None) => {
                    for i in matching {
                        let mut element = element_from(f);
                        if let Some(Value::Object(v)) = value.clone() {
                            element.extend(v);
                        }
                        items[i] = Value::Object(element);
                    }
                }
                (Kind::Add, None) => {
                    for i in matching {
                        if let (Some(o), Some(Value::Object(v))) =
                            (items[i].as_object_mut(), value.clone())
                        {
                            o.extend(v);
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

fn set_sub(obj: &mut Map<String, Value>, kind: Kind, sub: &str, value: Option<Value>) {
    let key = key_in(obj, sub);
    match kind {
        Kind::Remove => {
            obj.remove(&key);
        }
        Kind::Add | Kind::Replace => {
            obj.insert(key, value.unwrap_or(Value::Null));
        }
    }
}

/// A new element that matches the filter's equalities (`type eq "work"` → `{"type":"work"}`).
fn element_from(f: &filter::Filter) -> Map<String, Value> {
    let mut out = Map::new();
    fn walk(f: &filter::Filter, out: &mut Map<String, Value>) {
        match f {
            filter::Filter::Compare(p, filter::Op::Eq, v) => {
                let v = match v {
                    filter::Value::Str(s) => Value::String(s.clone()),
                    filter::Value::Bool(b) => Value::Bool(*b),
                    filter::Value::Num(n) => serde_json::Number::from_f64(*n)
                        .map(Value::Number)
                        .unwrap_or(Value::Null),
                    filter::Value::Null => Value::Null,
                };
                out.insert(p.attr.clone(), v);
            }
            filter::Filter::And(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            _ => {}
        }
    }
    walk(f, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "7",
            "userName": "ada@example.com",
            "active": true,
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
            ENTERPRISE_SCHEMA: {"department": "Research"},
        })
    }

    fn run(ops: Value) -> Value {
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": ops});
        apply(user(), &operations(&body).expect("ops")).expect("applied")
    }

    #[test]
    fn entra_s_capitalised_ops_paths_and_string_booleans() {
        let u = run(json!([
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "ada@new.example"},
            {"op": "Replace", "path": format!("{ENTERPRISE_SCHEMA}:department"), "value": "Maths"},
            {"op": "Add", "path": "name.givenName", "value": "Augusta"},
            {"op": "Remove", "path": format!("{ENTERPRISE_SCHEMA}:manager")},
        ]));
        assert_eq!(u["active"], "False");
        assert_eq!(u["emails"][0]["value"], "ada@new.example");
        assert_eq!(u["emails"].as_array().unwrap().len(), 1);
        assert_eq!(u[ENTERPRISE_SCHEMA]["department"], "Maths");
        assert_eq!(u["name"]["givenName"], "Augusta");
        assert_eq!(u["name"]["familyName"], "Lovelace");
    }

    #[test]
    fn entra_removes_members_by_value() {
        let group = json!({"displayName": "Eng", "members": [{"value": "1"}, {"value": "2"}, {"value": "3"}]});
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [
            {"op": "Remove", "path": "members", "value": [{"value": "2"}]},
        ]});
        let g = apply(group.clone(), &operations(&body).expect("ops")).expect("applied");
        assert_eq!(g["members"], json!([{"value": "1"}, {"value": "3"}]));
        let body =
            json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "remove", "path": "members"}]});
        let g = apply(group, &operations(&body).expect("ops")).expect("applied");
        assert!(g.get("members").is_none(), "without a value, all of them");
    }

    #[test]
    fn the_whole_extension_by_its_urn() {
        let u = run(json!([{"op": "remove", "path": ENTERPRISE_SCHEMA}]));
        assert!(u.get(ENTERPRISE_SCHEMA).is_none());
        let u = run(
            json!([{"op": "replace", "path": ENTERPRISE_SCHEMA, "value": {"employeeNumber": "7"}}]),
        );
        assert_eq!(u[ENTERPRISE_SCHEMA], json!({"employeeNumber": "7"}));
    }

    #[test]
    fn okta_s_pathless_replace() {
        let u =
            run(json!([{"op": "replace", "value": {"active": false, "name.familyName": "King"}}]));
        assert_eq!(u["active"], false);
        assert_eq!(u["name"]["familyName"], "King");
        let u =
            run(json!([{"op": "replace", "value": {ENTERPRISE_SCHEMA: {"department": "Ops"}}}]));
        assert_eq!(u[ENTERPRISE_SCHEMA]["department"], "Ops");
    }

    #[test]
    fn a_filter_that_matches_nothing_adds_the_element() {
        let u = run(json!([
            {"op": "add", "path": "emails[type eq \"home\"].value", "value": "ada@home.example"},
        ]));
        assert_eq!(u["emails"].as_array().unwrap().len(), 2);
        assert_eq!(u["emails"][1]["type"], "home");
        let u = run(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]));
        assert!(u["emails"].as_array().unwrap().is_empty());
    }

    #[test]
    fn read_only_attributes_are_left_and_bad_bodies_refused() {
        let u = run(json!([{"op": "replace", "path": "id", "value": "99"}]));
        assert_eq!(u["id"], "7");
        for bad in [
            json!({"Operations": []}),
            json!({"schemas": ["urn:x"], "Operations": [{"op": "add", "path": "a", "value": 1}]}),
            json!({"Operations": [{"op": "move", "path": "a", "value": 1}]}),
            json!({"Operations": [{"op": "remove"}]}),
            json!({"Operations": [{"op": "add", "path": "a"}]}),
            json!({"Operations": [{"op": "add", "path": "emails[type eq", "value": 1}]}),
        ] {
            assert!(operations(&bad).is_err(), "{bad}");
        }
    }
}
