//! The key-policy section of a namespace's page: the effective policy with its bounds
//! (the server's), the form for its admins, and the keys that break it.

use actix_web::web;
use serde::Deserialize;

use super::handlers::{namespace_page, namespace_url};
use crate::app::Cx;
use crate::errors::{AppError, AppResult, FieldErrors};
use crate::key_policy::KeyPolicy;
use crate::service_accounts::policy::{self as key_policy, PolicyAnswer};
use crate::web::Reply;
use crate::web::form::{Messages, Rejected};

/// Routes.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/namespaces/{ns}/policy").post(set_policy));
}

/// The policy form as submitted (blank: no limit of the namespace's own).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    pub max_key_lifetime_days: String,
    #[serde(default)]
    pub max_token_lifetime_minutes: String,
    #[serde(default)]
    pub max_active_keys_per_account: String,
    /// One network a line (or comma separated).
    #[serde(default)]
    pub allowed_networks: String,
    #[serde(default)]
    pub rotate_every_days: String,
    /// `on` when ticked.
    #[serde(default)]
    pub deactivate_unrotated: Option<String>,
    /// Messages after a failed submission.
    #[serde(skip)]
    pub messages: Messages,
}

impl PolicyForm {
    /// The form filled with a namespace's own policy.
    pub fn of(policy: &KeyPolicy) -> Self {
        let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        Self {
            max_key_lifetime_days: n(policy.max_key_lifetime_days),
            max_token_lifetime_minutes: n(policy.max_token_lifetime_minutes),
            max_active_keys_per_account: n(policy.max_active_keys_per_account),
            allowed_networks: policy
                .allowed_networks
                .clone()
                .unwrap_or_default()
                .join("\n"),
            rotate_every_days: n(policy.rotate_every_days),
            deactivate_unrotated: (policy.deactivate_unrotated == Some(true)).then(|| "on".into()),
            messages: Messages::default(),
        }
    }

    /// The policy the form asks for; a setting that is not a number is a 422 on it.
    fn policy(&self) -> AppResult<KeyPolicy> {
        let mut fields = FieldErrors::new();
        let mut number = |field: &str, text: &str| -> Option<i64> {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            text.parse()
                .map_err(|_| {
                    fields.insert(field.into(), "must be a whole number (or blank)".into());
                })
                .ok()
        };
        let policy = KeyPolicy {
            max_key_lifetime_days: number("max_key_lifetime_days", &self.max_key_lifetime_days),
            max_token_lifetime_minutes: number(
                "max_token_lifetime_minutes",
                &self.max_token_lifetime_minutes,
            ),
            max_active_keys_per_account: number(
                "max_active_keys_per_account",
                &self.max_active_keys_per_account,
            ),
            rotate_every_days: number("rotate_every_days", &self.rotate_every_days),
            allowed_networks: {
                let list: Vec<String> = self
                    .allowed_networks
                    .split(['\n', ','])
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned)
                    .collect();
                (!list.is_empty()).then_some(list)
            },
            deactivate_unrotated: self.deactivate_unrotated.is_some().then_some(true),
        };
        if fields.is_empty() {
            Ok(policy)
        } else {
            Err(AppError::Validation {
                message: "the key policy is not valid".into(),
                fields,
            })
        }
    }
}

/// The section as the page shows it.
pub struct PolicySection {
    /// Own, server's and effective policy, and violations.
    pub answer: PolicyAnswer,
    /// The form (the namespace's own settings, or what was submitted).
    pub form: PolicyForm,
    /// May change it.
    pub can_edit: bool,
}

/// `POST /namespaces/{ns}/policy` → back to the section, or the page again with the
/// form's messages.
async fn set_policy(cx: Cx, path: web::Path<String>, form: web::Form<PolicyForm>) -> Reply {
    let name = path.into_inner();
    let mut form = form.into_inner();
    let result = match form.policy() {
        Ok(policy) => {
            let n = name.clone();
            cx.run(move |conn, actor, st| {
                key_policy::set_policy(conn, actor, &st.config.key_policy, &n, policy)
            })
            .await
        }
        Err(e) => Err(e),
    };
    let rejected = match result {
        Ok(_) => {
            cx.state.identity_epoch.bump();
            let url = format!("{}#key-policy", namespace_url(&name));
            return cx.done(&url, format!("The key policy of {name} is saved."));
        }
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    form.messages = rejected.messages;
    let page = namespace_page(&cx, name, None, String::new(), Some(form)).await?;
    Ok(cx.render_with(page, rejected.status))
}
