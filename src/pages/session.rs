//! Who is looking at a page, and how a browser proves it.
//!
//! With no tokens configured (loopback only) everyone is the local admin, as for the API. Otherwise a page
//! accepts, in order: `Authorization: Bearer`, the `vigil_token` cookie (set by `/login`), or `?token=`
//! once — which sets the cookie and redirects to the same URL without the token, so it does not linger
//! in history or logs. The cookie is `HttpOnly; SameSite=Strict`; form posts are additionally refused
//! when the browser says they come from another site (`Sec-Fetch-Site` / `Origin`), which also covers
//! the open loopback mode where there is no cookie to protect.

use askama::Template;
use axum::Form;
use axum::extract::{FromRequestParts, Query};
use axum::http::header::{AUTHORIZATION, COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{PageError, Web, private_page};
use crate::auth::{HasTokens, Principal, Role};

const COOKIE_NAME: &str = "vigil_token";
const COOKIE_MAX_AGE_S: u32 = 12 * 3600;

/// The signed-in principal of a page request.
pub struct PageUser(pub Principal);

impl PageUser {
    pub fn require(&self, role: Role) -> Result<(), PageError> {
        if self.0.role.allows(role) {
            Ok(())
        } else {
            Err(PageError::new(
                StatusCode::FORBIDDEN,
                format!(
                    "{} ({}) may not do this: it needs the {role} role",
                    self.0.name, self.0.role
                ),
            ))
        }
    }

    pub fn can(&self, role: Role) -> bool {
        self.0.role.allows(role)
    }
}

impl FromRequestParts<Web> for PageUser {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, web: &Web) -> Result<Self, Self::Rejection> {
        let tokens = web.tokens();
        if tokens.is_open() {
            return Ok(PageUser(Principal {
                name: "local".into(),
                role: Role::Admin,
            }));
        }
        if let Some(token) = query_token(parts.uri.query()) {
            return Err(match tokens.identify(&token) {
                Some(_) => {
                    let clean = without_token(parts.uri.path(), parts.uri.query());
                    sign_in_redirect(&token, &clean)
                }
                None => login_page(
                    Some("That token is not valid."),
                    parts.uri.path(),
                    StatusCode::UNAUTHORIZED,
                ),
            });
        }
        let presented = bearer(&parts.headers).or_else(|| cookie(&parts.headers));
        match presented.and_then(|token| tokens.identify(&token)) {
            Some(principal) => Ok(PageUser(principal)),
            None => {
                let next = parts
                    .uri
                    .path_and_query()
                    .map_or("/", |pq| pq.as_str())
                    .to_owned();
                Err(redirect(&format!("/login?next={}", percent_encode(&next))))
            }
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers
        .get(AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(|token| token.trim().to_owned())
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME && !value.is_empty()).then(|| value.to_owned())
        })
}

fn query_token(query: Option<&str>) -> Option<String> {
    let pairs: Vec<(String, String)> =
        Query::<Vec<(String, String)>>::try_from_uri(&format!("/?{}", query?).parse().ok()?)
            .ok()?
            .0;
    pairs
        .into_iter()
        .find_map(|(name, value)| (name == "token").then_some(value))
}

fn without_token(path: &str, query: Option<&str>) -> String {
    let rest: Vec<&str> = query
        .unwrap_or_default()
        .split('&')
        .filter(|pair| !pair.is_empty() && !pair.starts_with("token="))
        .collect();
    if rest.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", rest.join("&"))
    }
}

/// Only local paths may be redirected to (no `//host` or `/\host` tricks).
fn safe_next(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\") {
        next
    } else {
        "/oncall"
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

pub fn redirect(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(
            LOCATION,
            HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/")),
        )],
    )
        .into_response()
}

fn sign_in_redirect(token: &str, next: &str) -> Response {
    // Cookie values cannot hold these; such tokens still work with the Authorization header.
    if token
        .bytes()
        .any(|b| !(0x21..0x7f).contains(&b) || b";,\"\\".contains(&b))
    {
        return login_page(
            Some(
                "This token cannot be kept in a cookie; send it in an Authorization header instead.",
            ),
            next,
            StatusCode::BAD_REQUEST,
        );
    }
    let mut response = redirect(safe_next(next));
    let cookie = format!(
        "{COOKIE_NAME}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_S}"
    );
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

/// Refuses a form post that the browser marks as coming from another site.
pub fn same_origin(headers: &HeaderMap) -> Result<(), PageError> {
    let refused = || {
        PageError::new(
            StatusCode::FORBIDDEN,
            "this form was submitted from another site; open the page on this Vigil and submit it there",
        )
    };
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return match site {
            "same-origin" | "none" => Ok(()),
            _ => Err(refused()),
        };
    }
    if let Some(origin) = headers.get("origin").and_then(|v| v.to_str().ok()) {
        let host = headers
            .get(HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let authority = origin
            .strip_prefix("http://")
            .or_else(|| origin.strip_prefix("https://"))
            .unwrap_or("");
        if authority.is_empty() || authority != host {
            return Err(refused());
        }
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    error: Option<&'a str>,
    next: &'a str,
    live: bool,
    section: &'static str,
}

fn login_page(error: Option<&str>, next: &str, status: StatusCode) -> Response {
    let page = LoginPage {
        error,
        next: safe_next(next),
        live: false,
        section: "login",
    };
    match private_page(&page) {
        Ok(mut response) => {
            *response.status_mut() = status;
            response
        }
        Err(error) => error.into_response(),
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: Option<String>,
}

pub async fn login_form(Query(query): Query<NextQuery>) -> Response {
    login_page(
        None,
        query.next.as_deref().unwrap_or("/oncall"),
        StatusCode::OK,
    )
}

#[derive(Deserialize)]
pub struct LoginInput {
    token: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    axum::extract::State(web): axum::extract::State<Web>,
    headers: HeaderMap,
    Form(input): Form<LoginInput>,
) -> Response {
    if let Err(error) = same_origin(&headers) {
        return error.into_response();
    }
    let next = input.next.as_deref().unwrap_or("/oncall");
    if web.tokens().is_open() {
        return redirect(safe_next(next));
    }
    match web.tokens().identify(input.token.trim()) {
        Some(_) => sign_in_redirect(input.token.trim(), next),
        None => login_page(
            Some("That token is not valid."),
            next,
            StatusCode::UNAUTHORIZED,
        ),
    }
}

pub async fn logout(headers: HeaderMap) -> Response {
    if let Err(error) = same_origin(&headers) {
        return error.into_response();
    }
    let mut response = redirect("/");
    response.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("vigil_token=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_read_from_cookie_and_query() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_static("a=b; vigil_token=s3cret; c=d"),
        );
        assert_eq!(cookie(&headers).as_deref(), Some("s3cret"));
        assert_eq!(
            query_token(Some("x=1&token=ab%2Bc")).as_deref(),
            Some("ab+c")
        );
        assert_eq!(
            without_token("/oncall", Some("token=abc&x=1")),
            "/oncall?x=1"
        );
        assert_eq!(without_token("/oncall", Some("token=abc")), "/oncall");
    }

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(safe_next("/incidents/1"), "/incidents/1");
        assert_eq!(safe_next("//evil.example/"), "/oncall");
        assert_eq!(safe_next("https://evil.example/"), "/oncall");
        assert_eq!(percent_encode("/a?b=c d"), "/a%3Fb%3Dc%20d");
    }

    #[test]
    fn cross_site_posts_are_refused() {
        let mut headers = HeaderMap::new();
        headers.insert(HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(same_origin(&headers).is_ok(), "curl sends neither header");
        headers.insert("origin", HeaderValue::from_static("http://127.0.0.1:8080"));
        assert!(same_origin(&headers).is_ok());
        headers.insert("origin", HeaderValue::from_static("http://evil.example"));
        assert!(same_origin(&headers).is_err());
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(same_origin(&headers).is_err());
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_origin(&headers).is_ok());
    }
}
