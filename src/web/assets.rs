//! Static assets (htmx, Pico CSS, our small CSS/JS) embedded in the binary. File names
//! carry versions, so they are served as immutable for a year.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use rust_embed::Embed;

use crate::errors::AppError;

/// The `static/` folder, compiled in.
#[derive(Embed)]
#[folder = "static/"]
struct Assets;

/// `GET /static/{path}`
pub async fn serve_asset(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let file = Assets::get(&path).ok_or(AppError::NotFound)?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..12]));
    let cache = ("Cache-Control", "public, max-age=31536000, immutable");
    if req
        .headers()
        .get(IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        return Ok(HttpResponse::NotModified().insert_header(cache).finish());
    }
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, file.metadata.mimetype()))
        .insert_header((CACHE_CONTROL, cache.1))
        .insert_header((ETAG, etag))
        .body(file.data.into_owned()))
}

/// Names of the embedded files (for tests and diagnostics).
pub fn asset_names() -> Vec<String> {
    Assets::iter().map(|n| n.into_owned()).collect()
}
