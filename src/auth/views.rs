//! Templates of the auth area.

use askama::Template;

use crate::web::layout::Layout;

/// The sign-in page.
#[derive(Template)]
#[template(path = "auth/login.html")]
pub struct LoginPage {
    /// Layout (anonymous, with CSRF token).
    pub layout: Layout,
    /// Name of the OpenID provider, when configured ("Sign in with <name>").
    pub oidc_name: Option<String>,
    /// Whether the password form is for everyone (otherwise break-glass only).
    pub password_login: bool,
    /// Where to go after signing in (already checked to be a local path).
    pub return_to: String,
    /// The name typed (re-shown after a failure; never the password).
    pub username: String,
    /// Error to show.
    pub error: Option<String>,
}
