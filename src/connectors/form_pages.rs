//! The register/edit form pages: one schema-driven form for both, swapped by htmx when
//! the type or method changes, shown again with its messages when a save fails.

use actix_web::http::StatusCode;
use actix_web::web;

use super::brokering;
use super::calls;
use super::form::FormInput;
use super::models::Connector;
use super::registry;
use super::views::{Field, FormPage, layout};
use crate::app::Cx;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::names::Address;
use crate::web::Reply;
use crate::web::{form_errors, see_other};

/// What a stale edit form says, shown above the entries it keeps.
const STALE_FORM: &str = "Someone changed this connector after you opened the form. Your \
                          entries are below; saving again applies them to the current version.";

/// The form for `input`, on connector `editing` when editing, with `errors` (attribute
/// errors sit with their fields) and a summary `error`.
struct FormState<'a> {
    editing: Option<&'a Connector>,
    input: &'a FormInput,
    errors: FieldErrors,
    error: Option<String>,
}

/// Builds the form page.
async fn form_page(cx: &Cx, form: FormState<'_>) -> AppResult<FormPage> {
    let FormState {
        editing,
        input,
        errors,
        error,
    } = form;
    let catalog = &cx.state.catalog;
    let t = catalog
        .get(&input.connector_type)
        .or_else(|| catalog.types().first())
        .ok_or(AppError::NotFound)?
        .clone();
    let usable = |m: &&super::catalog::AuthMethod| catalog.disabled_reason(m).is_none();
    let m = t
        .auth_method(&input.auth_method)
        .filter(usable)
        .or_else(|| t.auth_methods.iter().find(usable))
        .ok_or(AppError::NotFound)?
        .clone();
    let stored: Vec<String> = editing.map(Connector::secret_names).unwrap_or_default();
    let stored_note = editing.map(|_| stored_note(&m, &stored));
    let fields = m
        .attributes()
        .into_iter()
        .map(|a| Field {
            value: if a.secret {
                String::new()
            } else {
                input.value(&a.name).unwrap_or("").to_owned()
            },
            stored: a.secret && stored.contains(&a.name),
            error: errors.get(&format!("configuration.{}", a.name)).cloned(),
            a,
        })
        .collect();
    let creatable = calls::namespaces(cx).await?.creatable;
    let namespace = if input.namespace.is_empty() {
        creatable
            .iter()
            .find(|n| *n == "default")
            .or_else(|| creatable.first())
            .cloned()
            .unwrap_or_default()
    } else {
        input.namespace.clone()
    };
    // The version the form was opened at travels with it (also through field swaps),
    // so saving a stale form is refused rather than applied.
    let version: i64 = input
        .version
        .parse()
        .ok()
        .or(editing.map(|c| c.row.updated_at))
        .unwrap_or_default();
    let mut unshown: FieldErrors = errors
        .into_iter()
        .filter(|(k, _)| !k.starts_with("configuration."))
        .collect();
    // Attribute errors for attributes the method does not have (e.g. unknown ones).
    let stray = input.stray_attributes(&m);
    if !stray.is_empty() {
        unshown.insert(
            "auth_method".into(),
            format!("{} has no attribute {}", m.auth_method, stray.join(", ")),
        );
    }
    Ok(FormPage {
        layout: layout(cx)?,
        editing: editing.is_some(),
        input: FormInput {
            namespace,
            version: version.to_string(),
            ..input.clone()
        },
        namespaces: creatable,
        types: catalog
            .types()
            .iter()
            .map(|t| {
                (
                    t.connector_type.clone(),
                    format!("{} ({})", t.name, t.connector_type),
                )
            })
            .collect(),
        methods: t
            .auth_methods
            .iter()
            .map(|x| {
                (
                    x.auth_method.clone(),
                    format!("{} ({})", x.name, x.auth_method),
                    catalog.disabled_reason(x).is_some(),
                )
            })
            .collect(),
        fields,
        resource_types: t
            .resource_types
            .iter()
            .map(|r| {
                (
                    r.resource_type.clone(),
                    r.name.clone(),
                    input.resource_types.contains(&r.resource_type),
                )
            })
            .collect(),
        errors: unshown,
        error,
        stored_note,
        t,
        m,
    })
}

/// What an edit form says about secrets for method `m` when `stored` are the secret
/// attributes the connector holds: which a blank field keeps, which must be entered
/// (required by this method but not stored, after a method switch), and which changes
/// of destination make every kept one needed again.
fn stored_note(m: &super::catalog::AuthMethod, stored: &[String]) -> String {
    let attributes = m.attributes();
    let titles = |keep: &dyn Fn(&super::catalog::Attribute) -> bool| -> Vec<String> {
        attributes
            .iter()
            .filter(|a| keep(a))
            .map(|a| a.title.clone())
            .collect()
    };
    let kept = titles(&|a| a.secret && stored.contains(&a.name));
    let needed = titles(&|a| a.secret && a.required && !stored.contains(&a.name));
    let moves = titles(&|a| a.destination);
    let mut note = Vec::new();
    if kept.is_empty() {
        note.push("No secret of this method is stored.".to_owned());
    } else {
        note.push(format!(
            "Stored, kept when left blank: {}.",
            kept.join(", ")
        ));
        if !moves.is_empty() {
            note.push(format!(
                "Changing {} means entering them again: a stored secret is never sent \
                 somewhere new.",
                moves.join(" or ")
            ));
        }
    }
    if !needed.is_empty() {
        note.push(format!(
            "{} needs {}, which is not stored: enter it.",
            m.name,
            needed.join(", ")
        ));
    }
    note.join(" ")
}

/// The form for `input` as first shown (no messages).
fn fresh<'a>(editing: Option<&'a Connector>, input: &'a FormInput) -> FormState<'a> {
    FormState {
        editing,
        input,
        errors: FieldErrors::new(),
        error: None,
    }
}

/// The form shown again with its messages, answered with `status`.
async fn again(cx: &Cx, form: FormState<'_>, status: StatusCode) -> Reply {
    let page = form_page(cx, form).await?;
    Ok(cx.render_with(page, status))
}

/// A failed save shown again with what the form says, or the error when the form
/// cannot explain it. Only refusals the form can explain (invalid, forbidden,
/// conflicting) are shown on it; a taken name sits with the name field when
/// registering.
async fn refused(cx: &Cx, err: AppError, editing: Option<&Connector>, input: &FormInput) -> Reply {
    if !matches!(
        err,
        AppError::Validation { .. } | AppError::Conflict(_) | AppError::Forbidden(_)
    ) {
        return Err(err);
    }
    let (mut errors, mut error, status) = form_errors(&err);
    if editing.is_none()
        && let AppError::Conflict(_) = err
    {
        errors.insert("name".into(), error.take().unwrap_or_default());
    }
    let form = FormState {
        editing,
        input,
        errors,
        error,
    };
    again(cx, form, status).await
}

/// `GET /connectors/new[?connector_type=&auth_method=&…]` (htmx swaps the form when
/// the type or method changes; secrets are never part of that request).
pub async fn new_connector_form(cx: Cx) -> AppResult<FormPage> {
    let input = FormInput::decode(cx.req.query_string().as_bytes());
    form_page(&cx, fresh(None, &input)).await
}

/// `POST /connectors`
pub async fn create_connector(cx: Cx, body: web::Bytes) -> Reply {
    let input = FormInput::decode(&body);
    let draft = input.draft(&cx.state.catalog);
    let result = if input.verify_first {
        brokering::create_verified(&cx, draft).await
    } else {
        calls::create(&cx, draft).await
    };
    match result {
        Ok((c, _)) => Ok(see_other(&c.url())),
        Err(err) => refused(&cx, err, None, &input).await,
    }
}

/// `GET /connectors/{name}/edit[?auth_method=…]`
pub async fn edit_connector_form(cx: Cx, at: Address) -> AppResult<FormPage> {
    let c = calls::editable(&cx, at).await?;
    let query = cx.req.query_string();
    let input = if query.is_empty() {
        FormInput::from_connector(&c, registry::pinnable(&cx.state.catalog, &c))
    } else {
        // A field swap: what the form holds now, on the fixed identity.
        on_identity(FormInput::decode(query.as_bytes()), &c)
    };
    form_page(&cx, fresh(Some(&c), &input)).await
}

/// `input` on the name, namespace and type of `c`, which an edit cannot change.
fn on_identity(input: FormInput, c: &Connector) -> FormInput {
    FormInput {
        name: c.row.name.clone(),
        namespace: c.namespace.clone(),
        connector_type: c.row.connector_type.clone(),
        ..input
    }
}

/// `POST /connectors/{name}/edit`
pub async fn update_connector(cx: Cx, at: Address, body: web::Bytes) -> Reply {
    let c = calls::editable(&cx, at).await?;
    let mut input = on_identity(FormInput::decode(&body), &c);
    let patch = input.patch(&c, &cx.state.catalog);
    let result = calls::update(&cx, c.address(), patch).await;
    match result {
        Ok(_) => Ok(see_other(&c.url())),
        Err(AppError::Conflict(_)) => {
            // Show the entries again on top of the current version: saving once more
            // applies them to it, knowingly.
            let (current, _) = calls::get(&cx, c.address()).await?;
            input.version = current.row.updated_at.to_string();
            let form = FormState {
                error: Some(STALE_FORM.into()),
                ..fresh(Some(&current), &input)
            };
            again(&cx, form, StatusCode::CONFLICT).await
        }
        Err(err) => refused(&cx, err, Some(&c), &input).await,
    }
}
