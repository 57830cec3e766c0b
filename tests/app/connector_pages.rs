//! Connector pages: the catalog, the schema-driven form (errors inline, secrets never
//! pre-filled nor echoed, blank keeps them on edit), detail with history, lists and
//! resources, and who sees which buttons.

use actix_web::http::StatusCode;
use diesel::prelude::*;
use portcullis::db::schema::connectors as t;

use crate::helpers::{PASSWORD, TestApp, emulator_env};

const SECRET: &str = "pageSecretValue0123456789abcdef";
const EDIT: &str = "/connectors/s3-edit/edit";

async fn admin_app() -> TestApp {
    let mut app = TestApp::new().await;
    app.create_user("root", &[("*/*", "admin")]);
    app.conn(|c| {
        portcullis::environments::ensure_namespace(c, "team-a", "").unwrap();
    });
    app.login("root", PASSWORD).await;
    app
}

/// [`admin_app`] with AWS connector `name` registered through the form.
async fn with_connector(name: &str) -> TestApp {
    let mut app = admin_app().await;
    app.post_form("/connectors", &aws_form(name, SECRET))
        .await
        .assert_status(StatusCode::SEE_OTHER);
    app
}

fn aws_form<'a>(name: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("namespace", "team-a"),
        ("connector_type", "aws"),
        ("auth_method", "secret-key"),
        ("cfg.region", "eu-west-1"),
        ("cfg.endpoint_url", ""),
        ("cfg.aws_access_key_id", "AKIAPAGETEST"),
        ("cfg.aws_secret_access_key", secret),
        ("resource_type", "s3-bucket"),
        ("resource_id", "s3://page-bucket"),
        ("labels", "team=ml\nenv=prod"),
        ("description", "from the form"),
        ("expires_at", "2099-01-31T12:00"),
    ]
}

/// Posts the edit form of s3-edit (secret-key method) with `fields`.
async fn edit(app: &mut TestApp, fields: &[(&str, &str)]) -> crate::helpers::TestResponse {
    let mut all = vec![("auth_method", "secret-key")];
    all.extend_from_slice(fields);
    app.post_form(EDIT, &all).await
}

#[actix_web::test]
async fn the_catalog_pages_describe_types_methods_and_resources() {
    let mut app = admin_app().await;
    let page = app.get("/connector-types").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.texts("#types tr.type-row").len(), 7);
    assert!(
        page.text("#implicit-note")
            .contains("PORTCULLIS_CONNECTOR_IMPLICIT_AUTH=true")
    );
    let aws_row = page.text("tr.type-row[data-type=aws] td.temporary");
    assert_eq!(aws_row, "yes");
    assert_eq!(
        page.text("tr.type-row[data-type=docker] td.temporary"),
        "no"
    );
    // The filters swap the rows (htmx).
    let rows = app
        .htmx_get("/connector-types?resource_type=kubernetes-cluster&auth_method=")
        .await;
    assert_eq!(rows.fragment_count("tr.type-row"), 4, "{}", rows.body);
    assert!(!rows.body.contains("<html"));
    let rows = app.htmx_get("/connector-types?auth_method=password").await;
    assert_eq!(rows.fragment_count("tr.type-row"), 2);

    let page = app.get("/connector-types/aws").await;
    assert_eq!(page.texts("tr.method-row").len(), 6);
    assert!(
        page.text("tr.method-row[data-method=implicit]")
            .contains("disabled")
    );
    assert_eq!(page.texts("tr.resource-type-row").len(), 4);

    let page = app
        .get("/connector-types/aws/auth-methods/secret-key")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let secret_row = page.text("tr.attribute-row[data-attribute=aws_secret_access_key] td.markers");
    assert!(secret_row.contains("required") && secret_row.contains("secret"));
    let endpoint = page.text("tr.attribute-row[data-attribute=endpoint_url] td.markers");
    assert!(endpoint.contains("optional") && !endpoint.contains("secret"));
    assert_eq!(page.text("#credential-kind"), "long-lived");
    assert!(
        page.attr("a#register-with", "href")
            .unwrap()
            .contains("auth_method=secret-key")
    );

    let page = app
        .get("/connector-types/aws/auth-methods/session-token")
        .await;
    assert_eq!(page.text("#expiration"), "15 min – 36 h, default 12 h");
    let page = app.get("/connector-types/gcp/auth-methods/implicit").await;
    assert!(
        page.text("#method-disabled")
            .contains("PORTCULLIS_CONNECTOR_IMPLICIT_AUTH")
    );
    assert!(page.attr("a#register-with", "href").is_none());

    let page = app
        .get("/connector-types/aws/resource-types/s3-bucket")
        .await;
    assert!(page.body.contains("arn:aws:s3:::"));
    assert_eq!(page.texts("#reaching-methods li").len(), 6);
    assert!(page.texts("#no-connectors").len() == 1);

    for missing in [
        "/connector-types/nope",
        "/connector-types/aws/auth-methods/nope",
        "/connector-types/aws/resource-types/gcs-bucket",
    ] {
        assert_eq!(
            app.get(missing).await.status,
            StatusCode::NOT_FOUND,
            "{missing}"
        );
    }
}

#[actix_web::test]
async fn the_form_follows_the_schema_and_never_carries_secrets_in_urls() {
    let mut app = admin_app().await;
    let page = app
        .get("/connectors/new?connector_type=gcp&auth_method=service-account")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.attrs("#config-fields [name^='cfg.']", "name"),
        [
            "cfg.project_id",
            "cfg.service_account_json",
            "cfg.generate_temporary_tokens",
            "cfg.endpoint_url"
        ],
        "required first"
    );
    assert_eq!(
        page.attr("#cfg-service_account_json", "class"),
        None,
        "secret fields are not part of field swaps"
    );
    // Every secret input is a password input (or a multi-line secret) outside the swap.
    let page = app
        .get("/connectors/new?connector_type=aws&auth_method=iam-role")
        .await;
    let doc = page.html();
    for sel in ["input[type=password]", "textarea"] {
        for e in doc.select(&scraper::Selector::parse(sel).unwrap()) {
            let name = e.value().attr("name").unwrap_or("");
            let keep = e.value().attr("class").unwrap_or("").contains("keep");
            if name.contains("secret") || name.contains("access_key") {
                assert!(!keep, "{name} would travel in a swap URL");
            }
        }
    }
    assert_eq!(
        page.attr("#cfg-aws_secret_access_key", "type").as_deref(),
        Some("password")
    );
    // Changing the type swaps the form (htmx), keeping what was typed.
    let swapped = app
        .htmx_get("/connectors/new?connector_type=kubernetes&name=k8s-one&namespace=team-a")
        .await;
    assert_eq!(
        swapped.value("input[name=name]").as_deref(),
        Some("k8s-one")
    );
    assert!(swapped.attr("#cfg-server", "name").is_some());
    assert_eq!(
        swapped.attr("#cfg-insecure", "name").as_deref(),
        Some("cfg.insecure")
    );
    // Kubernetes has no implicit method: only its own methods are offered, all usable.
    assert_eq!(
        swapped.attrs("#auth-method option", "value"),
        ["password", "token"]
    );
    assert!(swapped.value("#auth-method option[disabled]").is_none());
    // AWS's implicit method is offered but disabled (implicit auth is off by default).
    let implicit = "#auth-method option[value=implicit]";
    assert!(page.attr(implicit, "disabled").is_some(), "{}", page.body);
    assert!(page.text(implicit).ends_with("(disabled on this server)"));
    assert!(
        page.attr("#auth-method option[value=iam-role]", "disabled")
            .is_none()
    );
}

#[actix_web::test]
async fn registering_shows_errors_inline_and_then_hidden_secrets() {
    let mut app = admin_app().await;
    // Missing region, a bad endpoint URL: 422, the form again, nothing stored, no echo.
    let mut bad = aws_form("s3-page", SECRET);
    bad[4] = ("cfg.region", "");
    bad[5] = ("cfg.endpoint_url", "not a url");
    let res = app.post_form("/connectors", &bad).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.text("#error-cfg-region"), "is required");
    assert!(res.text("#error-cfg-endpoint_url").contains("URL"));
    assert_eq!(res.value("input[name=name]").as_deref(), Some("s3-page"));
    assert_eq!(res.value("#cfg-aws_secret_access_key").as_deref(), Some(""));
    assert!(!res.body.contains(SECRET), "a secret came back in the page");
    assert_eq!(
        app.conn(|c| t::table.count().get_result::<i64>(c).unwrap()),
        0
    );

    let res = app
        .post_form("/connectors", &aws_form("s3-page", SECRET))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(
        res.header("location"),
        Some("/namespaces/team-a/connectors/s3-page")
    );
    let page = app.get("/connectors/s3-page").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(SECRET));
    assert_eq!(
        page.text("tr.config-row[data-attribute=aws_access_key_id] td.value"),
        "AKIAPAGETEST"
    );
    assert_eq!(
        page.text("tr.config-row[data-attribute=aws_secret_access_key] td.value"),
        "[HIDDEN]"
    );
    assert_eq!(
        page.text("tr.config-row[data-attribute=region] td.value"),
        "eu-west-1"
    );
    assert_eq!(
        page.text("tr.config-row[data-attribute=endpoint_url] td.value"),
        "not set"
    );
    assert_eq!(page.text("#resource"), "s3://page-bucket");
    assert!(page.text("#expires-in").starts_with("in "));
    assert_eq!(page.texts("#labels .label"), ["env=prod", "team=ml"]);
    assert!(page.text("#history tbody").contains("connector.create"));
    assert!(page.attr("a#edit-connector", "href").is_some());
    // The same name again: 409 with the message at the name.
    let res = app
        .post_form("/connectors", &aws_form("s3-page", SECRET))
        .await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.text("#error-name").contains("already exists"));
}

#[actix_web::test]
async fn editing_keeps_secrets_left_blank() {
    let mut app = admin_app().await;
    let res = app
        .post_form("/connectors", &aws_form("s3-edit", SECRET))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let form = app.get(EDIT).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_eq!(form.value("#cfg-region").as_deref(), Some("eu-west-1"));
    assert_eq!(
        form.value("#cfg-aws_secret_access_key").as_deref(),
        Some("")
    );
    assert!(
        form.attr("#cfg-aws_secret_access_key", "placeholder")
            .unwrap()
            .contains("leave blank")
    );
    assert!(
        form.attr("#cfg-aws_secret_access_key", "required")
            .is_none()
    );
    assert!(!form.body.contains(SECRET));
    assert_eq!(form.text("textarea[name=labels]"), "env=prod\nteam=ml");
    let fields = [
        ("cfg.region", "us-east-2"),
        ("cfg.endpoint_url", ""),
        ("cfg.aws_access_key_id", "AKIAPAGETEST"),
        ("cfg.aws_secret_access_key", ""),
        ("resource_type", "s3-bucket"),
        ("resource_id", "s3://page-bucket"),
        ("labels", "team=ml"),
        ("description", "edited"),
        ("expires_at", ""),
    ];
    let res = edit(&mut app, &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let secrets = app.connector_secrets("s3-edit");
    assert_eq!(secrets["aws_secret_access_key"], SECRET);
    assert!(
        !secrets.contains_key("aws_access_key_id"),
        "an identifier, not sealed"
    );
    let page = app.get("/connectors/s3-edit").await;
    assert_eq!(
        page.text("tr.config-row[data-attribute=region] td.value"),
        "us-east-2"
    );
    assert_eq!(page.text("#expires-in"), "—");
    assert!(page.text("#history tbody").contains("connector.update"));
    // A form opened before someone else's change is refused (409), not applied blindly.
    let stale = app.get(EDIT).await;
    let version = stale.value("input[name=version]").unwrap();
    let root = app.new_browser().admin_token().await;
    let res = app
        .new_browser()
        .patch_as(
            &root,
            "/api/v1/connectors/s3-edit",
            serde_json::json!({"description": "changed elsewhere"}),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let fields = [
        ("version", version.as_str()),
        ("cfg.region", "us-east-2"),
        ("description", "mine"),
    ];
    let res = edit(&mut app, &fields).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    assert!(res.text("#form-error").contains("changed this connector"));
    // A field swap of the stale form keeps its version: saving it is still a 409.
    let swapped = app
        .htmx_get(&format!(
            "/connectors/s3-edit/edit?auth_method=secret-key&version={version}"
        ))
        .await;
    assert_eq!(
        swapped.value("input[name=version]").as_deref(),
        Some(version.as_str())
    );
    // The 409 page carries the current version: saving again applies the entries.
    let current = res.value("input[name=version]").unwrap();
    assert_ne!(current, version);
    let page = app.get("/connectors/s3-edit").await;
    assert_eq!(page.text("#description"), "changed elsewhere");
    // An invalid edit shows the form again and changes nothing.
    let fields = [
        ("cfg.region", ""),
        ("cfg.aws_secret_access_key", "new-but-refused"),
        ("labels", ""),
    ];
    let res = edit(&mut app, &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.text("#error-cfg-region"), "is required");
    assert!(!res.body.contains("new-but-refused"));
    assert_eq!(
        app.connector_secrets("s3-edit")["aws_secret_access_key"],
        SECRET
    );
    // An expired connector (expiry with seconds and milliseconds, set through the API)
    // can still be edited in the form: an unchanged expiry is kept exactly.
    app.conn(|c| {
        diesel::update(t::table.filter(t::name.eq("s3-edit")))
            .set(t::expires_at.eq(Some(1_700_000_030_123_i64)))
            .execute(c)
            .unwrap();
    });
    let form = app.get(EDIT).await;
    let shown = form.value("input[name=expires_at]").unwrap();
    assert_eq!(shown, "2023-11-14T22:13:50");
    let version = form.value("input[name=version]").unwrap();
    let fields = [
        ("version", version.as_str()),
        ("cfg.region", "us-east-2"),
        ("cfg.aws_access_key_id", "AKIAPAGETEST"),
        ("description", "still expired"),
        ("expires_at", shown.as_str()),
    ];
    let res = edit(&mut app, &fields).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let stored: Option<i64> = app.conn(|c| {
        t::table
            .filter(t::name.eq("s3-edit"))
            .select(t::expires_at)
            .first(c)
            .unwrap()
    });
    assert_eq!(stored, Some(1_700_000_030_123));
    // Delete from the detail page.
    let res = app.post_form("/connectors/s3-edit/delete", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get("/connectors/s3-edit").await.status,
        StatusCode::NOT_FOUND
    );
}

#[actix_web::test]
async fn lists_and_resources_show_what_the_viewer_may_read() {
    let mut app = admin_app().await;
    app.conn(|c| {
        portcullis::environments::ensure_namespace(c, "team-b", "").unwrap();
    });
    let res = app
        .post_form("/connectors", &aws_form("s3-list", SECRET))
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let mut other = aws_form("aws-b", SECRET);
    other[1] = ("namespace", "team-b");
    other[8] = ("resource_type", "kubernetes-cluster");
    other[9] = ("resource_id", "");
    other[12] = ("expires_at", "");
    let res = app.post_form("/connectors", &other).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/connectors").await;
    assert_eq!(page.texts("tr.connector-row").len(), 2);
    assert_eq!(
        page.text("tr.connector-row[data-connector=aws-b] td.resource"),
        "<multiple>"
    );
    assert!(page.attr("a#new-connector", "href").is_some());
    let rows = app
        .htmx_get("/connectors?q=&namespace=&connector_type=&resource_type=s3-bucket&label=")
        .await;
    assert_eq!(rows.fragment_count("tr.connector-row"), 1);
    let rows = app.htmx_get("/connectors?label=env%3Dprod").await;
    assert_eq!(rows.fragment_count("tr.connector-row"), 2);

    let page = app.get("/resources?resource_type=s3-bucket").await;
    assert_eq!(page.texts("#resources tr.resource-row").len(), 1);
    assert!(page.text("#resources td.ids").contains("s3://page-bucket"));
    let page = app.get("/resources?resource_type=kubernetes-cluster").await;
    assert!(page.text("#resources td.ids").contains("not verified"));
    let page = app
        .get("/connector-types/aws/resource-types/s3-bucket")
        .await;
    assert_eq!(page.texts("#reaching-connectors tr.connector-row").len(), 1);

    // A team-a viewer: sees team-a's connector, no edit or delete; may register only in
    // the namespace they administer (their own).
    app.create_user("viewer", &[("team-a/*", "viewer")]);
    let mut viewer = app.new_browser();
    viewer.login("viewer", PASSWORD).await;
    let page = viewer.get("/connectors").await;
    assert_eq!(page.texts("tr.connector-row").len(), 1);
    assert!(page.attr("a#new-connector", "href").is_some());
    let form = viewer.get("/connectors/new").await;
    assert_eq!(form.texts("select[name=namespace] option"), ["viewer"]);
    let page = viewer.get("/connectors/s3-list").await;
    assert!(page.attr("a#edit-connector", "href").is_none());
    assert!(page.texts("#delete-connector").is_empty());
    for (route, expected) in [
        ("/connectors/s3-list/edit", StatusCode::FORBIDDEN),
        ("/connectors/aws-b", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(viewer.get(route).await.status, expected, "{route}");
    }
    let res = viewer
        .post_form("/connectors/s3-list/edit", &[("auth_method", "secret-key")])
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    let res = viewer
        .post_form("/connectors", &aws_form("mine", SECRET))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    assert_eq!(
        viewer
            .get("/resources?resource_type=kubernetes-cluster")
            .await
            .texts("tr.resource-row")
            .len(),
        0
    );
}

#[actix_web::test]
async fn verify_on_the_connector_page_shows_what_the_provider_said() {
    let mut app = admin_app().await;
    let mut form = aws_form("s3-verify", SECRET).to_vec();
    // The test server reaches only public endpoints: this one is refused, which is
    // what verification reports.
    form.push(("cfg.endpoint_url", "http://127.0.0.1:9"));
    let res = app.post_form("/connectors", &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/connectors/s3-verify").await;
    assert_eq!(
        page.attr("#verify-form", "hx-post").as_deref(),
        Some("/namespaces/team-a/connectors/s3-verify/verify")
    );
    let before = page.text("#verified-at");
    assert!(page.text("#resources tr.resource-row").contains("declared"));

    let res = app.post_form("/connectors/s3-verify/verify", &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/connectors/s3-verify").await;
    assert_ne!(page.text("#verified-at"), before);
    let row = page.text("#resources tr.resource-row");
    assert!(row.contains("verified"), "{row}");
    assert!(row.contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"), "{row}");
    assert!(!page.body.contains(SECRET));
    // The change is confirmed once: a toast on the page it leads to.
    let said = page.text("#toasts .toast");
    assert!(
        said.starts_with("s3-verify verified: the provider said"),
        "{said}"
    );
    // Sent by htmx (which follows the redirect for the fragment), the message comes as
    // an HX-Trigger toast event instead, once, with non-ASCII escaped.
    let res = app
        .htmx_post_form("/connectors/s3-verify/verify", &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let fragment = app.htmx_get(res.location()).await;
    let trigger: serde_json::Value =
        serde_json::from_str(fragment.header("hx-trigger").unwrap()).unwrap();
    assert!(
        trigger["toast"]
            .as_str()
            .unwrap()
            .starts_with("s3-verify verified")
    );
    assert!(fragment.texts("#toasts .toast").is_empty());
    let later = app.htmx_get("/connectors/s3-verify").await;
    assert_eq!(later.header("hx-trigger"), None);

    // A viewer may read the connector but not verify it.
    app.create_user("viewer", &[("team-a/*", "viewer")]);
    let mut viewer = app.new_browser();
    viewer.login("viewer", PASSWORD).await;
    let page = viewer.get("/connectors/s3-verify").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.texts("#verify-connector").is_empty());
    let res = viewer.post_form("/connectors/s3-verify/verify", &[]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn verify_before_saving_stores_nothing_when_the_provider_cannot_be_reached() {
    let mut app = admin_app().await;
    let page = app.get("/connectors/new").await;
    assert!(
        page.attr("#verify-first", "name").is_some(),
        "the form offers it"
    );
    let mut form = aws_form("s3-unverified", SECRET);
    form.push(("cfg.endpoint_url", "http://127.0.0.1:9"));
    form.push(("verify_first", "true"));
    let res = app.post_form("/connectors", &form).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    let error = res.text("#error-verify_first");
    assert!(error.contains("nothing was saved"), "{error}");
    assert!(
        error.contains("PORTCULLIS_CONNECTOR_ALLOW_PRIVATE"),
        "{error}"
    );
    assert_eq!(res.attr("#verify-first", "checked").as_deref(), Some(""));
    assert!(!res.body.contains(SECRET), "the secret is not sent back");
    let page = app.get("/connectors/s3-unverified").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[actix_web::test]
#[ignore = "needs the docker-registry emulator (tests/run.sh starts it)"]
async fn verify_before_saving_registers_with_what_verification_found() {
    let mut app = TestApp::with_config(|c| c.outbound.allow_private = true).await;
    app.create_user("root", &[("*/*", "admin")]);
    app.login("root", PASSWORD).await;
    let registry = emulator_env("TEST_REGISTRY_URL");
    let (user, password) = (
        emulator_env("TEST_REGISTRY_USER"),
        emulator_env("TEST_REGISTRY_PASSWORD"),
    );
    let mut form = vec![
        ("name", "checked-registry"),
        ("namespace", "default"),
        ("connector_type", "docker"),
        ("auth_method", "password"),
        ("cfg.username", user.as_str()),
        ("cfg.password", "wrong-password"),
        ("cfg.registry", registry.as_str()),
        ("verify_first", "true"),
    ];
    let res = app.post_form("/connectors", &form).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", res.body);
    assert!(
        res.text("#error-verify_first")
            .contains("authentication failed")
    );
    form[5] = ("cfg.password", password.as_str());
    let res = app.post_form("/connectors", &form).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let page = app.get("/connectors/checked-registry").await;
    let row = page.text("#resources tr.resource-row");
    assert!(row.contains("verified") && row.contains(&registry), "{row}");
}

#[actix_web::test]
async fn the_form_reports_every_problem_at_once_and_keeps_what_is_not_secret() {
    let mut app = admin_app().await;
    let unset = ["cfg.region", "cfg.aws_secret_access_key"];
    let bad: Vec<_> = aws_form("-bad", SECRET)
        .into_iter()
        .map(|(k, v)| match k {
            k if unset.contains(&k) => (k, ""),
            "labels" => (k, "no-equals"),
            _ => (k, v),
        })
        .collect();
    let res = app.post_form("/connectors", &bad).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    for id in [
        "#error-name",
        "#error-cfg-region",
        "#error-cfg-aws_secret_access_key",
        "#error-labels",
    ] {
        assert!(
            !res.text(id).is_empty(),
            "{id} missing: every problem at once"
        );
    }
    // What is not secret comes back as typed, the access key ID included.
    for (field, typed) in [
        ("input[name=name]", "-bad"),
        ("#cfg-aws_access_key_id", "AKIAPAGETEST"),
        ("#cfg-aws_secret_access_key", ""),
    ] {
        assert_eq!(res.value(field).as_deref(), Some(typed), "{field}");
    }
    assert_eq!(res.text("textarea[name=labels]"), "no-equals");
    // Switching the method keeps them too, and only true secrets carry the badge.
    let swap = app
        .htmx_get("/connectors/new?connector_type=aws&auth_method=iam-role&cfg.region=eu-west-1&cfg.aws_access_key_id=AKIAPAGETEST")
        .await;
    assert_eq!(swap.value("#cfg-region").as_deref(), Some("eu-west-1"));
    assert_eq!(
        swap.value("#cfg-aws_access_key_id").as_deref(),
        Some("AKIAPAGETEST")
    );
    let marked = |name: &str| {
        swap.fragment_count(&format!(".attribute[data-attribute={name}] .badge.secret"))
    };
    assert_eq!(marked("aws_secret_access_key"), 1);
    for plain in ["aws_access_key_id", "region", "role_arn"] {
        assert_eq!(marked(plain), 0, "{plain} is not a secret");
    }
}

#[actix_web::test]
async fn the_edit_form_says_which_secrets_are_kept_and_what_needs_them_again() {
    let mut app = with_connector("s3-edit").await;
    let form = app.get(EDIT).await;
    let note = form.text("#stored-secrets");
    assert!(
        note.contains("kept when left blank: AWS secret access key"),
        "{note}"
    );
    assert!(
        note.contains("Changing Endpoint URL means entering them again"),
        "{note}"
    );
    // After switching to a method with a secret that is not stored, it says so.
    let swap = app
        .htmx_get(&format!(
            "{EDIT}?auth_method=sts-token&cfg.region=eu-west-1"
        ))
        .await;
    let note = swap.text("#stored-secrets");
    assert!(
        note.contains("needs AWS session token, which is not stored"),
        "{note}"
    );
    // Changing the region without the secret: the message says why it is needed.
    let fields = [
        ("cfg.region", "eu-west-1"),
        ("cfg.endpoint_url", "https://s3.example.org"),
        ("cfg.aws_access_key_id", "AKIAPAGETEST"),
        ("cfg.aws_secret_access_key", ""),
        ("resource_type", "s3-bucket"),
    ];
    let res = edit(&mut app, &fields).await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    let why = res.text("#error-cfg-aws_secret_access_key");
    assert!(
        why.contains("enter it again: endpoint_url changed"),
        "{why}"
    );
    // What was typed stays, the new endpoint included.
    assert_eq!(
        res.value("#cfg-endpoint_url").as_deref(),
        Some("https://s3.example.org")
    );
}

/// Runs the start-up move of plain attributes out of sealed secrets: how many moved.
fn unseal(app: &TestApp) -> usize {
    let (catalog, sealer) = (&app.state.catalog, &app.state.connector_sealer);
    app.conn(|c| {
        portcullis::connectors::registry::unseal_plain_attributes(c, catalog, sealer).unwrap()
    })
}

#[actix_web::test]
async fn identifiers_sealed_by_an_older_catalog_move_to_the_plain_configuration() {
    let mut app = with_connector("s3-old").await;
    // As an older catalog stored it: the access key ID sealed, hidden in the plain view.
    let (id, _) = app.sealed_connector("s3-old");
    let sealer = &app.state.connector_sealer;
    let old =
        serde_json::json!({"aws_access_key_id": "AKIAPAGETEST", "aws_secret_access_key": SECRET});
    let sealed =
        portcullis::connectors::registry::seal_secrets(sealer, id, old.as_object().unwrap());
    app.conn(|c| {
        let config: String = t::table.find(id).select(t::configuration).first(c).unwrap();
        let mut config: serde_json::Value = serde_json::from_str(&config).unwrap();
        config["aws_access_key_id"] = "[HIDDEN]".into();
        diesel::update(t::table.find(id))
            .set((
                t::configuration.eq(config.to_string()),
                t::secrets.eq(sealed),
            ))
            .execute(c)
            .unwrap();
    });
    assert_eq!(unseal(&app), 1);
    let secrets = app.connector_secrets("s3-old");
    assert_eq!(
        secrets.keys().collect::<Vec<_>>(),
        ["aws_secret_access_key"]
    );
    let form = app.get("/connectors/s3-old/edit").await;
    assert_eq!(
        form.value("#cfg-aws_access_key_id").as_deref(),
        Some("AKIAPAGETEST")
    );
    // Once moved, a later start has nothing to do.
    assert_eq!(unseal(&app), 0);
}
