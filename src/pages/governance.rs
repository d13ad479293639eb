//! `/governance`: the emergency-pause console. Today it shows each protocol module and whether it is
//! paused, read from the embedded core. The pause service (guardian pauses, governor quorum, the
//! hash-chained audit log) is not connected to the pages yet, so its sections say so rather than guess.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::session::PageUser;
use super::{PageError, Web, private_page};
use crate::auth::Role;

pub struct ModuleRow {
    pub name: String,
    pub paused: bool,
    pub value_locked: f64,
    pub tx_total: u64,
    pub rejected_total: u64,
}

#[derive(Template)]
#[template(path = "governance.html")]
struct GovernancePage {
    core_enabled: bool,
    modules: Vec<ModuleRow>,
    live: bool,
    section: &'static str,
}

impl GovernancePage {
    fn paused_count(&self) -> usize {
        self.modules.iter().filter(|module| module.paused).count()
    }
}

pub async fn page(State(web): State<Web>, user: PageUser) -> Result<Response, PageError> {
    user.require(Role::Viewer)?;
    let core = web.app().core.as_ref();
    private_page(&GovernancePage {
        core_enabled: core.is_some(),
        modules: core
            .map(|core| {
                core.snapshot()
                    .modules
                    .into_iter()
                    .map(|module| ModuleRow {
                        name: module.name,
                        paused: module.paused,
                        value_locked: module.value_locked,
                        tx_total: module.tx_total,
                        rejected_total: module.rejected_total,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        live: true,
        section: "governance",
    })
}
