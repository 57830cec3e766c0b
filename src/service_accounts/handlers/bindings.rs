//! The bindings editor of an account's page: add or remove one binding at a time.

use actix_web::web;

use super::accounts::{Forms, account_page};
use super::address_url;
use crate::access::{Pattern, Role};
use crate::app::Cx;
use crate::errors::{AppError, AppResult};
use crate::names::Address;
use crate::service_accounts::grants::{self, BindingChange};
use crate::service_accounts::views::BindingForm;
use crate::web::Reply;
use crate::web::form::Rejected;

/// Routes of the account at `one`.
pub(super) fn configure(cfg: &mut web::ServiceConfig, one: &str) {
    cfg.service(web::resource(format!("{one}/role-bindings")).post(change_binding));
}

impl BindingForm {
    /// The change asked for; a bad pattern, role or operation is a 422 on its field.
    fn change(&self) -> AppResult<BindingChange> {
        let pattern =
            Pattern::parse(self.pattern.trim()).map_err(|e| AppError::invalid("pattern", e))?;
        let role = Role::parse(self.role.trim()).map_err(|e| AppError::invalid("role", e))?;
        match self.op.as_str() {
            "add" => Ok(BindingChange::Add(pattern, role)),
            "remove" => Ok(BindingChange::Remove(pattern, role)),
            _ => Err(AppError::invalid("op", "must be add or remove")),
        }
    }
}

/// `POST /service-accounts/{sa}/role-bindings` → back to the Access section, or the
/// page again with the editor's messages (422; 403 for a binding beyond the editor's).
async fn change_binding(cx: Cx, at: Address, form: web::Form<BindingForm>) -> Reply {
    let name = at.name.clone();
    let mut form = form.into_inner();
    let changed = match form.change() {
        Ok(change) => {
            let n = at.clone();
            cx.run(move |conn, actor, st| {
                grants::change_binding(conn, actor, &st.key_cache, &n, &change)
            })
            .await
        }
        Err(err) => Err(err),
    };
    let rejected = match changed {
        Ok(_) => {
            let done = match form.op.as_str() {
                "add" => format!("{} {} added to {name}.", form.pattern.trim(), form.role),
                _ => format!("{} {} removed from {name}.", form.pattern.trim(), form.role),
            };
            return cx.done(&format!("{}#access", address_url(&at)), done);
        }
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    form.messages = rejected.messages;
    let page = account_page(&cx, at, Forms::binding(form)).await?;
    Ok(cx.render_with(page, rejected.status))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(op: &str, pattern: &str, role: &str) -> BindingForm {
        BindingForm {
            op: op.into(),
            pattern: pattern.into(),
            role: role.into(),
            ..BindingForm::default()
        }
    }

    #[test]
    fn the_editor_reads_one_change_and_names_the_bad_field() {
        let add = form("add", " ml/pytorch-* ", "editor").change().unwrap();
        let expected = Pattern::parse("ml/pytorch-*").unwrap();
        assert_eq!(add, BindingChange::Add(expected, Role::Developer));
        for (f, field) in [
            (form("add", "no-slash", "viewer"), "pattern"),
            (form("add", "ml/*", "owner"), "role"),
            (form("replace", "ml/*", "viewer"), "op"),
        ] {
            let err = f.change().unwrap_err();
            assert!(
                err.fields().is_some_and(|m| m.contains_key(field)),
                "{err:?}"
            );
        }
    }
}
