//! Account pages: the list (with live search and the creation form), one account with
//! its keys, and the edit, (de)activate and delete actions.

use actix_web::web;
use serde::{Deserialize, Serialize};

use super::{ActiveForm, address_url, store_reveal};
use crate::access::{Permission, Role};
use crate::app::Cx;
use crate::db::now_ms;
use crate::environments;
use crate::errors::{AppError, AppResult};
use crate::key_policy::{self, DAY_MS};
use crate::names::Address;
use crate::service_accounts::accounts::{self, Edit, NewAccount};
use crate::service_accounts::actions;
use crate::service_accounts::api_keys::{self, NewKeyInput};
use crate::service_accounts::grants;
use crate::service_accounts::repo::ListFilter;
use crate::service_accounts::views::{
    AccessSection, AccountForm, AccountPage, AccountRow, AccountsPage, AccountsTable, BindingForm,
    KeyRow, TrustForm,
};
use crate::service_accounts::{reveal, trust};
use crate::web::Reply;
use crate::web::form::NamespaceChoices;
use crate::web::form::Rejected;
use crate::web::format::moment;
use crate::web::grants::{binding_rows, why_rows};
use crate::web::layout::Section;
use crate::web::see_other;

/// Page size of the accounts table.
const PAGE: i64 = 25;

/// Routes of the list.
pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/service-accounts")
            .get(list_accounts)
            .post(create_account),
    );
}

/// Routes of one account, at `one`.
pub(super) fn configure_one(cfg: &mut web::ServiceConfig, one: &str) {
    cfg.service(web::resource(one).get(show_account).post(update_account))
        .service(web::resource(format!("{one}/active")).post(set_account_active))
        .service(web::resource(format!("{one}/delete")).post(delete_account));
}

/// Query of the list page; also what its "load more" link carries.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    namespace: String,
    cursor: Option<String>,
}

/// The table of readable accounts under `q`, and the readable namespaces.
async fn load_table(cx: &Cx, q: &ListQuery) -> AppResult<(AccountsTable, Vec<String>)> {
    let namespace = Some(q.namespace.clone()).filter(|n| !n.is_empty());
    let search = q.q.clone();
    let cursor = q.cursor.clone().filter(|c| !c.is_empty());
    let (page, namespaces) = cx
        .run(move |conn, actor, _| {
            let filter = ListFilter {
                namespace: namespace.as_deref(),
                search: Some(&search),
                after: cursor.as_deref(),
                limit: PAGE,
            };
            let page = accounts::list_accounts(conn, actor.grants(), &filter)?;
            let namespaces = environments::list_readable_namespace_names(conn, actor.grants())?;
            Ok((page, namespaces))
        })
        .await?;
    let next_url = match page.next_cursor {
        Some(after) => {
            let next = ListQuery {
                q: q.q.clone(),
                namespace: q.namespace.clone(),
                cursor: Some(after),
            };
            let query = serde_urlencoded::to_string(&next).map_err(AppError::internal)?;
            Some(format!("/service-accounts?{query}"))
        }
        None => None,
    };
    let table = AccountsTable {
        csrf: crate::web::csrf::token(&cx.session)?,
        rows: page
            .items
            .iter()
            .map(|s| AccountRow::for_viewer(s, cx.actor.grants()))
            .collect(),
        next_url,
    };
    Ok((table, namespaces))
}

/// The list page; `form` is the creation form shown again (open) with its messages.
fn accounts_page(
    cx: &Cx,
    (table, namespaces): (AccountsTable, Vec<String>),
    q: ListQuery,
    form: Option<AccountForm>,
) -> AppResult<AccountsPage> {
    Ok(AccountsPage {
        layout: cx.layout(Section::ServiceAccounts)?,
        table,
        search: q.q,
        namespace: q.namespace,
        namespaces: NamespaceChoices::new(
            cx.actor.grants(),
            Permission::ServiceAccountCreate,
            namespaces,
        ),
        form_open: form.is_some(),
        form: form.unwrap_or(AccountForm {
            create_key: true,
            ..Default::default()
        }),
    })
}

/// `GET /service-accounts` (htmx: just the rows).
async fn list_accounts(cx: Cx, query: web::Query<ListQuery>) -> Reply {
    let q = query.into_inner();
    let (table, namespaces) = load_table(&cx, &q).await?;
    cx.rows_or_page(table, async |table| {
        accounts_page(&cx, (table, namespaces), q, None)
    })
    .await
}

/// `POST /service-accounts`, optionally with a first key → its reveal page.
async fn create_account(cx: Cx, form: web::Form<AccountForm>) -> Reply {
    let mut form = form.into_inner();
    let input = NewAccount {
        name: form.name.trim().to_owned(),
        namespace: Some(form.namespace.clone()).filter(|n| !n.is_empty()),
        description: Some(form.description.clone()),
        active: Some(true),
    };
    let with_key = form.create_key;
    let binding = reveal::session_binding(&cx.session)?;
    let result = cx
        .run(move |conn, actor, st| {
            let created = accounts::create_account(conn, actor, &input)?;
            if !with_key {
                return Ok(None);
            }
            // The first key lives as long as the namespace's key policy allows.
            let policy = key_policy::effective(conn, &st.config.key_policy, &created.namespace)?;
            let key_input = NewKeyInput {
                name: "default".into(),
                description: Some("Created with the account.".into()),
                expires_at: policy.max_key_lifetime_days.map(|d| now_ms() + d * DAY_MS),
            };
            let account = Address::qualified(&created.namespace, &created.account.name);
            let keys = (&st.keys.credential_pepper, &st.config.key_policy);
            let issued = api_keys::create_key(conn, actor, keys, &account, &key_input)?;
            store_reveal(conn, st, &binding, &issued).map(Some)
        })
        .await;
    let rejected = match result {
        Ok(Some(reveal_id)) => return Ok(see_other(&format!("/reveal/{reveal_id}"))),
        Ok(None) => {
            let name = form.name.trim();
            let at = Address::qualified(&form.namespace, name);
            return cx.done(&address_url(&at), format!("{name} created."));
        }
        Err(err) => Rejected::invalid_or_forbidden(err)?,
    };
    form.messages = rejected.messages;
    let table = load_table(&cx, &ListQuery::default()).await?;
    let page = accounts_page(&cx, table, ListQuery::default(), Some(form))?;
    Ok(cx.render_with(page, rejected.status))
}

/// `GET /service-accounts/{sa}`
async fn show_account(cx: Cx, at: Address) -> Reply {
    let page = account_page(&cx, at, Forms::default()).await?;
    Ok(cx.render(page))
}

/// Environments listed in an account's Access section.
const ACCESS_PAGE: i64 = 100;

/// The editors of an account's page, as they are shown: empty, or one of them again
/// with its messages.
#[derive(Default)]
pub(super) struct Forms {
    binding: BindingForm,
    trust: TrustForm,
}

impl Forms {
    /// The bindings editor shows `form`.
    pub(super) fn binding(form: BindingForm) -> Self {
        Self {
            binding: form,
            ..Self::default()
        }
    }

    /// The trust editor shows `form`.
    pub(super) fn trust(form: TrustForm) -> Self {
        Self {
            trust: form,
            ..Self::default()
        }
    }
}

/// The page of the account at `at`, its editors showing `forms`.
pub(super) async fn account_page(cx: &Cx, at: Address, forms: Forms) -> AppResult<AccountPage> {
    let (summary, keys, access, policies) = cx
        .run(move |conn, actor, st| {
            let summary = accounts::summary(conn, actor.grants(), &at)?;
            let keys = api_keys::list_keys(conn, actor.grants(), &at)?;
            let access = grants::access_of(conn, actor.grants(), &st.env_totals, &at, ACCESS_PAGE)?;
            let policies = trust::policies(conn, actor.grants(), &at)?;
            let rules = key_policy::effective(conn, &st.config.key_policy, &summary.namespace)?;
            Ok((summary, keys, access, (policies, rules)))
        })
        .await?;
    let (policies, rules) = policies;
    let now = now_ms();
    let may = |permission| {
        cx.actor
            .grants()
            .can_namespace(permission, &summary.namespace)
    };
    let readable = access.environments.iter();
    Ok(AccountPage {
        layout: cx.layout(Section::ServiceAccounts)?,
        account: AccountRow::from(&summary),
        created: moment(Some(summary.account.created_at)),
        created_by: summary.account.created_by.clone(),
        keys: keys
            .iter()
            .map(|k| KeyRow::under_policy(k, now, rules.rotate_every_days))
            .collect(),
        can_update: may(Permission::ServiceAccountUpdate),
        can_delete: may(Permission::ServiceAccountDelete),
        can_manage_keys: may(Permission::ApiKeyManage),
        access: AccessSection {
            bindings: binding_rows(&access.grants),
            environments: why_rows(
                &access.grants,
                readable.map(|(e, ns)| (ns.as_str(), e.name.as_str())),
            ),
            total: access.total,
            form: forms.binding,
            roles: Role::ALL.map(Role::as_str),
        },
        trust: super::trust::section(&policies.policies, forms.trust, &cx.state.public_origin),
    })
}

/// Form of the description edit.
#[derive(Debug, Deserialize)]
pub struct DescriptionForm {
    description: String,
}

/// `POST /service-accounts/{sa}`: edit the description.
async fn update_account(cx: Cx, at: Address, form: web::Form<DescriptionForm>) -> Reply {
    let edit = Edit {
        description: Some(form.into_inner().description),
        active: None,
    };
    let url = address_url(&at);
    actions::update_account(&cx, at, edit).await?;
    cx.done(&url, "Description saved.")
}

/// `POST /service-accounts/{sa}/active`
async fn set_account_active(cx: Cx, at: Address, form: web::Form<ActiveForm>) -> Reply {
    let (name, url) = (at.name.clone(), address_url(&at));
    let edit = form.edit()?;
    let done = match edit.active {
        Some(false) => format!("{name} deactivated: its keys and tokens stop working."),
        _ => format!("{name} activated."),
    };
    actions::update_account(&cx, at, edit).await?;
    // The list's row toggles send `back=list`.
    if form.back.as_deref() == Some("list") {
        return cx.done("/service-accounts", done);
    }
    cx.done(&url, done)
}

/// `POST /service-accounts/{sa}/delete`
async fn delete_account(cx: Cx, at: Address) -> Reply {
    let name = at.name.clone();
    actions::delete_account(&cx, at).await?;
    cx.done(
        "/service-accounts",
        format!("{name} deleted, with its keys."),
    )
}
