//! The API reference page (`/api-reference`): the OpenAPI document rendered on the
//! server, so it needs no script, works under the CSP, and cannot drift from what
//! `GET /api/v1/openapi.json` says. Public, like the document.

use actix_session::Session;
use askama::Template;
use askama_web::WebTemplate;
use serde_json::Value;

use crate::access::MaybeActor;
use crate::web::Reply;
use crate::web::layout::{Layout, Section};

/// The page.
#[derive(Template, WebTemplate)]
#[template(path = "api/reference.html")]
pub struct ReferencePage {
    /// Layout (with the navigation when signed in).
    pub layout: Layout,
    /// The document's own description.
    pub intro: Vec<Text>,
    /// Operations by tag, in the document's tag order.
    pub groups: Vec<Group>,
    /// The schemas the operations name.
    pub schemas: Vec<SchemaView>,
}

/// Text with `code` spans (Markdown backticks), rendered without raw HTML.
pub type Text = Vec<Span>;

/// A piece of [`Text`].
pub struct Span {
    /// The text.
    pub text: String,
    /// Shown as code.
    pub code: bool,
}

/// Operations of one tag.
pub struct Group {
    /// Tag name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Its operations.
    pub operations: Vec<OperationView>,
}

impl Group {
    /// Its anchor: the name with `-` for spaces.
    pub fn anchor(&self) -> String {
        self.name.replace(' ', "-")
    }
}

/// One operation.
pub struct OperationView {
    /// `operationId`: the anchor.
    pub id: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path template.
    pub path: String,
    /// One line.
    pub summary: String,
    /// Paragraphs.
    pub description: Vec<Text>,
    /// Needs no credential.
    pub public: bool,
    /// Path and query parameters.
    pub parameters: Vec<Field>,
    /// The body it takes, if any.
    pub body: Option<TypeView>,
    /// Its own answers.
    pub responses: Vec<Answer>,
    /// The status codes of the shared error answer (an `ErrorBody`).
    pub errors: Vec<String>,
    /// The same operation under `/api/v1/namespaces/{ns}/…`, if it has that form.
    pub namespaced: Option<String>,
}

/// A parameter or a property.
pub struct Field {
    /// Name.
    pub name: String,
    /// `path`, `query`, or empty for a property.
    pub location: String,
    /// Required.
    pub required: bool,
    /// Its type.
    pub ty: TypeView,
    /// What it means.
    pub description: Text,
}

/// A type as text, linking to a schema where it names one.
pub struct TypeView {
    /// E.g. `string (date-time)`, `array of`, `object`.
    pub text: String,
    /// The schema it names (an anchor below).
    pub schema: Option<String>,
}

/// One answer of an operation.
pub struct Answer {
    /// The status code.
    pub status: String,
    /// What it means.
    pub description: Text,
    /// Its body.
    pub body: Option<TypeView>,
}

/// One schema.
pub struct SchemaView {
    /// Name (the anchor is `schema-<name>`).
    pub name: String,
    /// What it is.
    pub description: Text,
    /// Properties of an object.
    pub properties: Vec<Field>,
    /// Values of an enumeration.
    pub values: Vec<String>,
    /// Accepts properties it does not list (a map).
    pub map_of: Option<TypeView>,
}

/// How the document names the namespaced form of an operation.
pub(super) const NAMESPACED_SUFFIX: &str = "_in_namespace";

/// `GET /api-reference`
pub(super) async fn show(who: MaybeActor, session: Session) -> Reply {
    let layout = match &who.0 {
        Some(actor) => Layout::new(&actor.principal, &session, Section::None)?,
        None => Layout::bare(),
    };
    Ok(actix_web::HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(
            page(layout, &super::DOCUMENT)
                .render()
                .map_err(crate::errors::AppError::internal)?,
        ))
}

/// The page of `doc`.
pub fn page(layout: Layout, doc: &Value) -> ReferencePage {
    let tags = doc["tags"].as_array().cloned().unwrap_or_default();
    let mut groups: Vec<Group> = tags
        .iter()
        .map(|t| Group {
            name: str_of(&t["name"]),
            description: str_of(&t["description"]),
            operations: Vec::new(),
        })
        .collect();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "post", "put", "patch", "delete"] {
            let Some(op) = item.get(method) else {
                continue;
            };
            let tag = op["tags"][0].as_str().unwrap_or("other");
            let view = operation(method, path, op);
            match groups.iter_mut().find(|g| g.name == tag) {
                Some(g) => g.operations.push(view),
                None => groups.push(Group {
                    name: tag.to_owned(),
                    description: String::new(),
                    operations: vec![view],
                }),
            }
        }
    }
    // An operation's `/api/v1/namespaces/{ns}/…` form is shown with it.
    for g in &mut groups {
        let (forms, mut ops): (Vec<_>, Vec<_>) = std::mem::take(&mut g.operations)
            .into_iter()
            .partition(|o| o.id.ends_with(NAMESPACED_SUFFIX));
        for form in forms {
            let base = form.id.trim_end_matches(NAMESPACED_SUFFIX);
            match ops.iter_mut().find(|o| o.id == base) {
                Some(op) => op.namespaced = Some(form.path),
                None => ops.push(form),
            }
        }
        g.operations = ops;
    }
    groups.retain(|g| !g.operations.is_empty());
    let schemas = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, s)| schema(name, s))
        .collect();
    ReferencePage {
        layout,
        intro: paragraphs(doc["info"]["description"].as_str().unwrap_or("")),
        groups,
        schemas,
    }
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// `text` split at backticks into plain and code spans.
fn spans(text: &str) -> Text {
    text.split('`')
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
        .map(|(i, t)| Span {
            text: t.to_owned(),
            code: i % 2 == 1,
        })
        .collect()
}

/// Paragraphs (blank-line separated; lines joined) of `text`.
fn paragraphs(text: &str) -> Vec<Text> {
    text.split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .map(|p| spans(&p))
        .collect()
}

fn operation(method: &str, path: &str, op: &Value) -> OperationView {
    let public = op["security"].as_array().is_some_and(|s| {
        s.iter()
            .all(|r| r.as_object().is_some_and(|o| o.is_empty()))
    });
    let parameters = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| Field {
            name: str_of(&p["name"]),
            location: str_of(&p["in"]),
            required: p["required"] == true,
            ty: type_of(&p["schema"]),
            description: spans(&flat(p["description"].as_str().unwrap_or(""))),
        })
        .collect();
    let body = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .map(|media| type_of(&media["schema"]));
    let (shared, own): (Vec<_>, Vec<_>) = op["responses"]
        .as_object()
        .into_iter()
        .flatten()
        .partition(|(_, r)| r["$ref"].is_string());
    let responses = own
        .into_iter()
        .map(|(status, r)| Answer {
            status: status.clone(),
            description: spans(&flat(r["description"].as_str().unwrap_or(""))),
            body: r["content"]
                .as_object()
                .and_then(|c| c.values().next())
                .map(|media| type_of(&media["schema"])),
        })
        .collect();
    let errors = shared.into_iter().map(|(s, _)| s.clone()).collect();
    OperationView {
        id: str_of(&op["operationId"]),
        method: method.to_uppercase(),
        path: path.to_owned(),
        summary: str_of(&op["summary"]).trim_end_matches('.').to_owned(),
        description: paragraphs(op["description"].as_str().unwrap_or("")),
        public,
        parameters,
        body,
        responses,
        errors,
        namespaced: None,
    }
}

/// `text` on one line.
fn flat(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The type `schema` describes, as text.
fn type_of(schema: &Value) -> TypeView {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
        return TypeView {
            text: name.to_owned(),
            schema: Some(name.to_owned()),
        };
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema[combined].as_array() {
            let named: Vec<TypeView> = parts
                .iter()
                .filter(|p| p["type"] != "null")
                .map(type_of)
                .collect();
            let nullable = parts.iter().any(|p| p["type"] == "null");
            if let [one] = named.as_slice() {
                return TypeView {
                    text: format!("{}{}", one.text, if nullable { " or null" } else { "" }),
                    schema: one.schema.clone(),
                };
            }
        }
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let nullable = types.contains(&"null");
    let main = types
        .iter()
        .find(|t| **t != "null")
        .copied()
        .unwrap_or("any");
    let (text, named) = match main {
        "array" => {
            let inner = type_of(&schema["items"]);
            (format!("array of {}", inner.text), inner.schema)
        }
        "object" if schema["additionalProperties"].is_object() => {
            let inner = type_of(&schema["additionalProperties"]);
            (format!("map of {}", inner.text), inner.schema)
        }
        other => {
            let format = schema["format"].as_str().map(|f| format!(" ({f})"));
            (format!("{other}{}", format.unwrap_or_default()), None)
        }
    };
    TypeView {
        text: if nullable {
            format!("{text} or null")
        } else {
            text
        },
        schema: named,
    }
}

fn schema(name: &str, s: &Value) -> SchemaView {
    let required: Vec<&str> = s["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut properties: Vec<Field> = Vec::new();
    let mut description = s["description"].as_str().unwrap_or("").to_owned();
    // `allOf` (a flattened struct): the properties of each part.
    let parts: Vec<&Value> = match s["allOf"].as_array() {
        Some(parts) => parts.iter().collect(),
        None => vec![s],
    };
    for part in parts {
        if let Some(r) = part["$ref"].as_str().and_then(|r| r.rsplit('/').next()) {
            description.push_str(&format!(" Every property of `{r}`, and:"));
        }
        let required: Vec<&str> = part["required"]
            .as_array()
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_else(|| required.clone());
        for (prop, p) in part["properties"].as_object().into_iter().flatten() {
            properties.push(Field {
                name: prop.clone(),
                location: String::new(),
                required: required.contains(&prop.as_str()),
                ty: type_of(p),
                description: spans(&flat(p["description"].as_str().unwrap_or(""))),
            });
        }
    }
    let values = s["enum"]
        .as_array()
        .map(|v| {
            v.iter()
                .map(|x| x.as_str().unwrap_or("").to_owned())
                .collect()
        })
        .unwrap_or_default();
    let map_of = (s["additionalProperties"].is_object() && properties.is_empty())
        .then(|| type_of(&s["additionalProperties"]));
    SchemaView {
        name: name.to_owned(),
        description: spans(&flat(&description)),
        properties,
        values,
        map_of,
    }
}
