//! The trust editor of an account's page (workload identity): add one policy, or remove
//! one, at a time; the JSON API replaces the whole list.

use std::collections::BTreeMap;

use actix_web::web;

use super::accounts::{Forms, account_page};
use super::address_url;
use crate::app::Cx;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::federation::TrustPolicy;
use crate::federation::policy::{MAX_TOKEN_SECONDS, MIN_TOKEN_SECONDS};
use crate::names::Address;
use crate::service_accounts::trust;
use crate::service_accounts::views::{TrustForm, TrustRow, TrustSection};
use crate::web::Reply;
use crate::web::form::Rejected;

/// Routes of the account at `one`.
pub(super) fn configure(cfg: &mut web::ServiceConfig, one: &str) {
    cfg.service(web::resource(format!("{one}/trust")).post(change_trust));
}

/// What the editor asks for.
#[derive(Debug, PartialEq)]
enum TrustChange {
    Add(TrustPolicy),
    /// Remove the policy at this position, if it still names this issuer.
    Remove(usize, String),
}

impl TrustForm {
    /// The change asked for; unreadable input is a 422 on its field.
    fn change(&self) -> AppResult<TrustChange> {
        match self.op.as_str() {
            "add" => {
                let mut claims = BTreeMap::new();
                for line in self.conditions.lines().filter(|l| !l.trim().is_empty()) {
                    let (claim, glob) = line.split_once('=').ok_or_else(|| {
                        AppError::invalid(
                            "conditions",
                            format!("{:?} must be claim = glob", line.trim()),
                        )
                    })?;
                    claims.insert(claim.trim().to_owned(), glob.trim().to_owned());
                }
                let max = self.max_token_seconds.trim();
                let max_token_seconds = match max {
                    "" => None,
                    text => Some(text.parse::<i64>().map_err(|_| {
                        AppError::invalid("max_token_seconds", "must be a number of seconds")
                    })?),
                };
                Ok(TrustChange::Add(TrustPolicy {
                    issuer: self.issuer.clone(),
                    audience: self.audience.clone(),
                    claims,
                    max_token_seconds,
                }))
            }
            "remove" => {
                let index = self
                    .index
                    .parse()
                    .map_err(|_| AppError::invalid("index", "must be a position"))?;
                Ok(TrustChange::Remove(index, self.issuer.clone()))
            }
            _ => Err(AppError::invalid("op", "must be add or remove")),
        }
    }
}

/// The form's fields for the messages of a policy's check (`policies[i].claims` →
/// `conditions`).
fn form_fields(err: AppError) -> AppError {
    match err {
        AppError::Validation { message, fields } => {
            let fields: FieldErrors = fields
                .into_iter()
                .map(|(k, v)| {
                    let field = k.rsplit('.').next().unwrap_or(&k);
                    let field = if field == "claims" {
                        "conditions"
                    } else {
                        field
                    };
                    (field.to_owned(), v)
                })
                .collect();
            AppError::Validation { message, fields }
        }
        other => other,
    }
}

/// `POST /service-accounts/{sa}/trust` → back to the Trust section, or the page again
/// with the editor's messages (422; 403 for those who may not administer the account).
async fn change_trust(cx: Cx, at: Address, form: web::Form<TrustForm>) -> Reply {
    let mut form = form.into_inner();
    let changed = match form.change() {
        Ok(change) => {
            let n = at.clone();
            cx.run(move |conn, actor, _| {
                trust::change_policies(conn, actor, &n, |held| match change {
                    TrustChange::Add(policy) => {
                        held.policies.push(policy);
                        Ok(())
                    }
                    TrustChange::Remove(index, issuer) => match held.policies.get(index) {
                        Some(p) if p.issuer == issuer => {
                            held.policies.remove(index);
                            Ok(())
                        }
                        _ => Err(AppError::Conflict(
                            "the policies changed meanwhile: reload the page".into(),
                        )),
                    },
                })
                .map_err(form_fields)
            })
            .await
        }
        Err(err) => Err(err),
    };
    let rejected = match changed {
        Ok(_) => {
            let done = match form.op.as_str() {
                "add" => format!("{} trusted.", form.issuer.trim()),
                _ => format!("{} no longer trusted by that policy.", form.issuer.trim()),
            };
            return cx.done(&format!("{}#trust", address_url(&at)), done);
        }
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    form.messages = rejected.messages;
    let page = account_page(&cx, at, Forms::trust(form)).await?;
    Ok(cx.render_with(page, rejected.status))
}

/// The Trust section of the page.
pub(super) fn section(policies: &[TrustPolicy], form: TrustForm, origin: &str) -> TrustSection {
    TrustSection {
        policies: policies
            .iter()
            .enumerate()
            .map(|(index, p)| TrustRow {
                index,
                issuer: p.issuer.clone(),
                audience: p.audience.clone(),
                conditions: p.claims.iter().map(|(c, g)| format!("{c} = {g}")).collect(),
                token_seconds: p.token_seconds(),
            })
            .collect(),
        form,
        bounds: (MIN_TOKEN_SECONDS, MAX_TOKEN_SECONDS),
        audience_hint: origin.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_editor_reads_conditions_line_by_line() {
        let form = TrustForm {
            op: "add".into(),
            issuer: "https://gitlab.example.com".into(),
            audience: "portcullis".into(),
            conditions: "project_path = group/app\r\n\r\n ref_type=branch \n".into(),
            max_token_seconds: " 900 ".into(),
            ..TrustForm::default()
        };
        let TrustChange::Add(p) = form.change().unwrap() else {
            panic!("an addition")
        };
        assert_eq!(p.claims["project_path"], "group/app");
        assert_eq!(p.claims["ref_type"], "branch");
        assert_eq!(p.max_token_seconds, Some(900));
        for (conditions, max, field) in [
            ("no equals sign", "", "conditions"),
            ("sub=x", "soon", "max_token_seconds"),
        ] {
            let bad = TrustForm {
                conditions: conditions.into(),
                max_token_seconds: max.into(),
                ..TrustForm {
                    op: "add".into(),
                    ..TrustForm::default()
                }
            };
            let err = bad.change().unwrap_err();
            assert!(
                err.fields().is_some_and(|f| f.contains_key(field)),
                "{err:?}"
            );
        }
        let err = form_fields(AppError::invalid("policies[2].claims", "x"));
        assert!(err.fields().is_some_and(|f| f.contains_key("conditions")));
    }
}
