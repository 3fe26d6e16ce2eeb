//! Culture's use cases: waves opened, codes issued and spent, responses stored
//! apart from any code, and results withheld below the threshold.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::NaiveDate;
use scir_kit::ApiError;
use scir_kit::audit::{AuditRecord, Guard};
use scir_kit::auth::Caller;
use scir_kit::db::{Database, DbError, now_micros, timestamp_from_micros};
use scir_kit::directory::Directory;
use scir_kit::error::PreconditionViolation;
use scir_kit::events::EventStream;
use scir_kit::events::{EventLog, NewEvent};
use scir_kit::names::{JurisdictionName, SurveyWaveName};
use scir_kit::unit::UnitOfWork;
use scir_kit::validate::{Check, from_date};
use scir_proto::common::v1::WatchEventsRequest;
use scir_proto::culture::v1 as pb;

use crate::domain::instruments::{Catalogue, Instrument, Leaning, POINTS, leaning};
use crate::domain::results::{Tally, UnitNode, results, whole};
use crate::domain::{codes, export};
use crate::store::{self, StoredUnit, StoredWave};

/// Most units a wave may have.
pub const MAX_UNITS: usize = 500;
/// Most codes one call issues.
pub const MAX_CODES_PER_CALL: i32 = 500;
/// Most codes a wave may have issued in all.
pub const MAX_CODES_PER_WAVE: i32 = 100_000;
/// Most waves a list returns.
const LIST_LIMIT: i64 = 200;

/// Where the answer page lives on the service's address.
pub const SURVEY_PATH: &str = "/survey";

/// Culture's logic.
#[derive(Debug, Clone)]
pub struct Culture {
    db: Database,
    events: EventLog,
    guard: Guard,
    instruments: Arc<Catalogue>,
    min_respondents: i32,
}

/// Why a response was not taken. Every reason a code might not work reads the
/// same to the respondent, so the page never says whether a code existed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotTaken {
    /// Unknown, used, mistyped, or its wave is closed.
    CodeNotUsable,
    /// An answer is out of range: the form was not the service's.
    BadAnswers,
}

/// An open wave a code belongs to, for its form.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The code, normalised.
    pub code: String,
    /// The wave's title.
    pub title: String,
    /// The instrument's items.
    pub instrument: Instrument,
}

fn today() -> NaiveDate {
    chrono::Utc::now().date_naive()
}

fn unit_id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 40
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

impl Culture {
    /// Culture over its database, event log, directory and instruments, withholding
    /// units below `min_respondents`.
    pub fn new(
        db: Database,
        events: EventLog,
        directory: Arc<Directory>,
        instruments: Arc<Catalogue>,
        min_respondents: i32,
    ) -> Self {
        Self {
            guard: Guard::new(db.clone(), directory),
            db,
            events,
            instruments,
            min_respondents,
        }
    }

    /// The wave `name`, readable by the caller; NOT_FOUND names no other
    /// jurisdiction's wave.
    async fn load(
        &self,
        caller: &Caller,
        method: &str,
        name: &str,
        field: &str,
    ) -> Result<(SurveyWaveName, StoredWave), ApiError> {
        let parsed = SurveyWaveName::parse(name, field)?;
        self.guard
            .authorize(caller, method, name, &parsed.jurisdiction)
            .await?;
        let mut conn = self.db.acquire().await?;
        match store::wave(&mut conn, &parsed.id).await? {
            Some(w) if w.jurisdiction == parsed.jurisdiction => Ok((parsed, w)),
            _ => Err(ApiError::NotFound {
                resource: name.to_owned(),
            }),
        }
    }

    async fn present(&self, w: &StoredWave) -> Result<pb::SurveyWave, ApiError> {
        let mut conn = self.db.acquire().await?;
        let units = store::units(&mut conn, &w.id).await?;
        let responses: i32 = units.iter().map(|u| u.respondents).sum();
        let date = |text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(from_date)
        };
        Ok(pb::SurveyWave {
            name: SurveyWaveName::new(w.jurisdiction.clone(), w.id.clone()).to_string(),
            title: w.title.clone(),
            instrument: w.instrument.clone(),
            units: units
                .into_iter()
                .map(|u| pb::OrganisationalUnit {
                    id: u.unit_id,
                    title: u.title,
                    parent: u.parent,
                    invited: u.invited,
                })
                .collect(),
            open_date: date(&w.open_date),
            close_date: date(&w.close_date),
            state: w.state,
            min_respondents: self.min_respondents,
            responses,
            create_time: Some(timestamp_from_micros(w.create_time)),
        })
    }

    /// `ListSurveyInstruments`.
    pub async fn instruments(
        &self,
        caller: &Caller,
        method: &str,
    ) -> Result<pb::ListSurveyInstrumentsResponse, ApiError> {
        self.guard
            .record(caller, method, "surveyInstruments", "ok")
            .await?;
        Ok(pb::ListSurveyInstrumentsResponse {
            instruments: self.instruments.list(),
        })
    }

    /// `CreateSurveyWave`.
    pub async fn create_wave(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::CreateSurveyWaveRequest,
    ) -> Result<pb::SurveyWave, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        self.guard
            .authorize(caller, method, &request.parent, &parent.0)
            .await?;
        let wave = request
            .survey_wave
            .ok_or_else(|| ApiError::invalid("survey_wave", "is required"))?;
        let mut check = Check::new("survey_wave.");
        check.text("title", &wave.title, 200, true);
        if self.instruments.get(&wave.instrument).is_none() {
            check.bad(
                "instrument",
                "must name a loaded instrument version (ListSurveyInstruments)",
            );
        }
        if wave.units.is_empty() || wave.units.len() > MAX_UNITS {
            check.bad("units", format!("must hold 1 to {MAX_UNITS} units"));
        }
        let mut seen = HashSet::new();
        for (i, u) in wave.units.iter().enumerate() {
            if !unit_id_ok(&u.id) {
                check.bad(
                    &format!("units[{i}].id"),
                    "must be 1 to 40 lower-case letters, digits or -",
                );
            } else if !seen.insert(u.id.as_str()) {
                check.bad(&format!("units[{i}].id"), "is repeated");
            }
            check.text(&format!("units[{i}].title"), &u.title, 200, true);
            if !u.parent.is_empty() && (u.parent == u.id || !seen.contains(u.parent.as_str())) {
                check.bad(
                    &format!("units[{i}].parent"),
                    "must be the id of a unit listed before it",
                );
            }
        }
        let open = check.date("open_date", wave.open_date.as_ref(), true);
        let close = check.date("close_date", wave.close_date.as_ref(), true);
        if let (Some(open), Some(close)) = (open, close) {
            if close < open {
                check.bad("close_date", "must not be before open_date");
            } else if close < today() {
                check.bad("close_date", "must not be in the past");
            }
        }
        check.finish()?;
        let (Some(open), Some(close)) = (open, close) else {
            return Err(ApiError::invalid("survey_wave", "dates are required"));
        };
        let stored = StoredWave {
            id: uuid::Uuid::now_v7().to_string(),
            jurisdiction: parent.0.clone(),
            title: wave.title.trim().to_owned(),
            instrument: wave.instrument.clone(),
            open_date: open.format("%Y-%m-%d").to_string(),
            close_date: close.format("%Y-%m-%d").to_string(),
            state: pb::WaveState::Open as i32,
            create_time: now_micros(),
        };
        let units: Vec<StoredUnit> = wave
            .units
            .iter()
            .enumerate()
            .map(|(i, u)| StoredUnit {
                position: i32::try_from(i).unwrap_or(i32::MAX),
                unit_id: u.id.clone(),
                title: u.title.trim().to_owned(),
                parent: u.parent.clone(),
                invited: 0,
                respondents: 0,
            })
            .collect();
        let name = SurveyWaveName::new(parent.0.clone(), stored.id.clone()).to_string();
        let mut unit = UnitOfWork::begin(&self.db).await?;
        store::insert_wave(unit.connection().await?, &stored, &units).await?;
        unit.audit(AuditRecord::of_resource(
            caller,
            method,
            &name,
            &format!("ok: {} units", units.len()),
        ));
        unit.commit().await?;
        self.present(&stored).await
    }

    /// `GetSurveyWave`.
    pub async fn get_wave(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetSurveyWaveRequest,
    ) -> Result<pb::SurveyWave, ApiError> {
        let (_, w) = self.load(caller, method, &request.name, "name").await?;
        self.guard
            .record(caller, method, &request.name, "ok")
            .await?;
        self.present(&w).await
    }

    /// `ListSurveyWaves`.
    pub async fn list_waves(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListSurveyWavesRequest,
    ) -> Result<pb::ListSurveyWavesResponse, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        self.guard
            .authorize(caller, method, &request.parent, &parent.0)
            .await?;
        let mut conn = self.db.acquire().await?;
        let stored = store::waves(&mut conn, &parent.0, LIST_LIMIT).await?;
        drop(conn);
        let mut survey_waves = Vec::with_capacity(stored.len());
        for w in &stored {
            survey_waves.push(self.present(w).await?);
        }
        self.guard
            .record(caller, method, &request.parent, "ok")
            .await?;
        Ok(pb::ListSurveyWavesResponse { survey_waves })
    }

    /// `IssueInvitations`: the codes, shown once.
    pub async fn issue(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::IssueInvitationsRequest,
    ) -> Result<pb::IssueInvitationsResponse, ApiError> {
        let (_, w) = self.load(caller, method, &request.wave, "wave").await?;
        let mut check = Check::new("");
        if !(1..=MAX_CODES_PER_CALL).contains(&request.count) {
            check.bad("count", format!("must be 1 to {MAX_CODES_PER_CALL}"));
        }
        let mut conn = self.db.acquire().await?;
        let units = store::units(&mut conn, &w.id).await?;
        drop(conn);
        if !units.iter().any(|u| u.unit_id == request.unit) {
            check.bad("unit", "is not a unit of the wave");
        }
        check.finish()?;
        if w.state != pb::WaveState::Open as i32 {
            return Err(closed(&request.wave));
        }
        let issued: i32 = units.iter().map(|u| u.invited).sum();
        if issued + request.count > MAX_CODES_PER_WAVE {
            return Err(ApiError::FailedPrecondition(vec![PreconditionViolation {
                kind: "LIMIT".to_owned(),
                subject: request.wave.clone(),
                description: format!(
                    "a wave issues at most {MAX_CODES_PER_WAVE} codes; {issued} are issued"
                ),
            }]));
        }
        let codes: Vec<String> = (0..request.count).map(|_| codes::fresh()).collect();
        let hashes: Vec<String> = codes
            .iter()
            .filter_map(|c| codes::normalise(c))
            .map(|c| codes::hash(&c))
            .collect();
        let mut unit = UnitOfWork::begin(&self.db).await?;
        store::insert_codes(unit.connection().await?, &w.id, &request.unit, &hashes).await?;
        unit.audit(AuditRecord::of_resource(
            caller,
            method,
            &request.wave,
            &format!("ok: {} codes for unit {}", hashes.len(), request.unit),
        ));
        unit.commit().await?;
        let links = codes
            .iter()
            .map(|c| format!("{SURVEY_PATH}?code={c}"))
            .collect();
        Ok(pb::IssueInvitationsResponse { codes, links })
    }

    /// `CloseSurveyWave`.
    pub async fn close_wave(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::CloseSurveyWaveRequest,
    ) -> Result<pb::SurveyWave, ApiError> {
        let (_, mut w) = self.load(caller, method, &request.name, "name").await?;
        if w.state != pb::WaveState::Open as i32 {
            return Err(closed(&request.name));
        }
        let instrument = self.instrument_of(&w)?;
        let mut unit = UnitOfWork::begin_with(&self.events).await?;
        // Spending a code deletes it in the response's transaction, so once
        // the unused codes are gone no response can follow, and the tallies
        // read below are the wave's last.
        store::drop_codes(unit.connection().await?, &w.id).await?;
        store::set_state(
            unit.connection().await?,
            &w.id,
            pb::WaveState::Closed as i32,
        )
        .await?;
        let (nodes, own) =
            unit_tallies(unit.connection().await?, &w.id, instrument.items.len()).await?;
        let event = closed_event(
            &request.name,
            instrument,
            whole(&nodes, &own, instrument.items.len(), self.min_respondents),
        );
        unit.publish(NewEvent::of(
            request.name.clone(),
            w.jurisdiction.clone(),
            &event,
        ));
        unit.audit(AuditRecord::of_resource(
            caller,
            method,
            &request.name,
            "ok",
        ));
        unit.commit().await?;
        w.state = pb::WaveState::Closed as i32;
        self.present(&w).await
    }

    /// `WatchEvents`.
    pub async fn watch(
        &self,
        caller: &Caller,
        method: &str,
        request: WatchEventsRequest,
    ) -> Result<EventStream, ApiError> {
        self.events
            .watch_for(self.guard.log(), caller, method, request)
            .await
    }

    /// The instrument version a wave keeps.
    fn instrument_of(&self, w: &StoredWave) -> Result<&pb::SurveyInstrument, ApiError> {
        Ok(&self
            .instruments
            .get(&w.instrument)
            .ok_or_else(|| {
                ApiError::FailedPrecondition(vec![PreconditionViolation {
                    kind: "INSTRUMENT".to_owned(),
                    subject: w.instrument.clone(),
                    description: "the wave's instrument version is no longer loaded".to_owned(),
                }])
            })?
            .message)
    }

    /// A wave's results per unit, withheld below the threshold.
    async fn wave_results(&self, w: &StoredWave) -> Result<Vec<pb::UnitResult>, ApiError> {
        let instrument = self.instrument_of(w)?;
        let mut conn = self.db.acquire().await?;
        let (nodes, own) = unit_tallies(&mut conn, &w.id, instrument.items.len()).await?;
        drop(conn);
        Ok(results(&nodes, &own, instrument, self.min_respondents))
    }

    /// `GetSurveyResults`.
    pub async fn results(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetSurveyResultsRequest,
    ) -> Result<pb::SurveyResults, ApiError> {
        let (_, w) = self.load(caller, method, &request.wave, "wave").await?;
        let units = self.wave_results(&w).await?;
        self.guard
            .record(caller, method, &request.wave, "ok")
            .await?;
        Ok(pb::SurveyResults {
            wave: request.wave,
            min_respondents: self.min_respondents,
            units,
        })
    }

    /// `ExportSurveyResults`: the results as CSV.
    pub async fn export(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetSurveyResultsRequest,
    ) -> Result<pb::SurveyResultsCsv, ApiError> {
        let results = self.results(caller, method, request).await?;
        Ok(pb::SurveyResultsCsv {
            text: export::csv(&results),
        })
    }

    /// `RenderSurveyChart`: the results as an SVG chart.
    pub async fn chart(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetSurveyResultsRequest,
    ) -> Result<pb::SurveyChart, ApiError> {
        let (_, w) = self.load(caller, method, &request.wave, "wave").await?;
        let units = self.wave_results(&w).await?;
        self.guard
            .record(caller, method, &request.wave, "ok")
            .await?;
        let instrument = self
            .instruments
            .get(&w.instrument)
            .map(|i| i.message.clone())
            .unwrap_or_default();
        let results = pb::SurveyResults {
            wave: request.wave,
            min_respondents: self.min_respondents,
            units,
        };
        Ok(pb::SurveyChart {
            svg: export::svg(&results, &instrument),
        })
    }

    /// `GetSurveyTrend`: each unit's results across the jurisdiction's waves.
    pub async fn trend(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetSurveyTrendRequest,
    ) -> Result<pb::SurveyTrend, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        self.guard
            .authorize(caller, method, &request.parent, &parent.0)
            .await?;
        if !request.unit.is_empty() && !unit_id_ok(&request.unit) {
            return Err(ApiError::invalid(
                "unit",
                "must be 1 to 40 lower-case letters, digits or -",
            ));
        }
        let mut conn = self.db.acquire().await?;
        let mut waves = store::waves(&mut conn, &parent.0, LIST_LIMIT).await?;
        drop(conn);
        waves.reverse();
        let mut order: Vec<String> = Vec::new();
        let mut by_unit: HashMap<String, Vec<pb::TrendPoint>> = HashMap::new();
        for w in &waves {
            let name = SurveyWaveName::new(w.jurisdiction.clone(), w.id.clone()).to_string();
            let close_date = NaiveDate::parse_from_str(&w.close_date, "%Y-%m-%d")
                .ok()
                .map(from_date);
            for result in self.wave_results(w).await? {
                if !request.unit.is_empty() && result.unit != request.unit {
                    continue;
                }
                if !by_unit.contains_key(&result.unit) {
                    order.push(result.unit.clone());
                }
                by_unit
                    .entry(result.unit.clone())
                    .or_default()
                    .push(pb::TrendPoint {
                        wave: name.clone(),
                        title: w.title.clone(),
                        instrument: w.instrument.clone(),
                        close_date,
                        result: Some(result),
                    });
            }
        }
        self.guard
            .record(caller, method, &request.parent, "ok")
            .await?;
        Ok(pb::SurveyTrend {
            min_respondents: self.min_respondents,
            units: order
                .into_iter()
                .map(|unit| pb::UnitTrend {
                    points: by_unit.remove(&unit).unwrap_or_default(),
                    unit,
                })
                .collect(),
        })
    }

    /// The open wave a typed code invites to, if the code can be used.
    pub async fn invitation(&self, typed: &str) -> Result<Invitation, SubmitError> {
        let code = codes::normalise(typed).ok_or(NotTaken::CodeNotUsable)?;
        let mut conn = self.db.pool().acquire().await.map_err(DbError::from)?;
        let (wave_id, _) = store::code(&mut conn, &codes::hash(&code))
            .await?
            .ok_or(NotTaken::CodeNotUsable)?;
        let wave = store::wave(&mut conn, &wave_id)
            .await?
            .ok_or(NotTaken::CodeNotUsable)?;
        let today = today().format("%Y-%m-%d").to_string();
        if wave.state != pb::WaveState::Open as i32
            || today < wave.open_date
            || today > wave.close_date
        {
            return Err(NotTaken::CodeNotUsable.into());
        }
        let instrument = self
            .instruments
            .get(&wave.instrument)
            .cloned()
            .ok_or(NotTaken::CodeNotUsable)?;
        Ok(Invitation {
            code,
            title: wave.title,
            instrument,
        })
    }

    /// Takes a response: spends the code and stores the answers (one per
    /// item, 0 for "prefer not to answer") in one transaction, with nothing
    /// that ties one to the other. Records no audit entry and no time: the
    /// respondent is not a caller, and a time would be a way back.
    pub async fn submit(&self, typed: &str, answers: &[i32]) -> Result<(), SubmitError> {
        let invitation = self.invitation(typed).await?;
        if answers.len() != invitation.instrument.items().len()
            || answers.iter().any(|a| !(0..=POINTS).contains(a))
        {
            return Err(NotTaken::BadAnswers.into());
        }
        let hash = codes::hash(&invitation.code);
        let mut unit = UnitOfWork::begin(&self.db).await?;
        let (wave_id, unit_id) = store::code(unit.connection().await?, &hash)
            .await?
            .ok_or(NotTaken::CodeNotUsable)?;
        if !store::spend_code(unit.connection().await?, &hash).await? {
            return Err(NotTaken::CodeNotUsable.into());
        }
        let text = answers
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        store::insert_response(unit.connection().await?, &wave_id, &unit_id, &text).await?;
        let leanings: Vec<Option<usize>> = invitation
            .instrument
            .items()
            .iter()
            .zip(answers)
            .map(|(item, value)| {
                leaning(*value, item.reversed).map(|l| match l {
                    Leaning::Positive => 0,
                    Leaning::Neutral => 1,
                    Leaning::Negative => 2,
                })
            })
            .collect();
        store::tally(unit.connection().await?, &wave_id, &unit_id, &leanings).await?;
        unit.commit().await?;
        Ok(())
    }
}

/// Each unit of a wave with its own tally (not its descendants').
async fn unit_tallies(
    conn: &mut sqlx::AnyConnection,
    wave_id: &str,
    width: usize,
) -> Result<(Vec<UnitNode>, HashMap<String, Tally>), DbError> {
    let units = store::units(&mut *conn, wave_id).await?;
    let tallies = store::tallies(&mut *conn, wave_id).await?;
    let mut own: HashMap<String, Tally> = units
        .iter()
        .map(|u| {
            let tally = Tally {
                respondents: u.respondents,
                items: vec![[0; 3]; width],
            };
            (u.unit_id.clone(), tally)
        })
        .collect();
    for (unit, item, positive, neutral, negative) in tallies {
        if let Some(slot) = own
            .get_mut(&unit)
            .and_then(|t| t.items.get_mut(usize::try_from(item).unwrap_or(usize::MAX)))
        {
            *slot = [positive, neutral, negative];
        }
    }
    let nodes = units
        .into_iter()
        .map(|u| UnitNode {
            id: u.unit_id,
            parent: u.parent,
            invited: u.invited,
        })
        .collect();
    Ok((nodes, own))
}

/// The event of a closed wave: the whole wave's counts, or why they are
/// withheld.
fn closed_event(
    name: &str,
    instrument: &pb::SurveyInstrument,
    whole: Result<(Tally, i32), pb::Withheld>,
) -> pb::SurveyWaveClosed {
    let mut event = pb::SurveyWaveClosed {
        name: name.to_owned(),
        instrument: instrument.name.clone(),
        ..Default::default()
    };
    match whole {
        Ok((tally, invited)) => {
            event.respondents = tally.respondents;
            event.invited = invited;
            event.items = instrument
                .items
                .iter()
                .zip(&tally.items)
                .map(|(item, [positive, neutral, negative])| pb::ItemTally {
                    code: item.code.clone(),
                    positive: *positive,
                    neutral: *neutral,
                    negative: *negative,
                })
                .collect();
            event.composites = instrument.composites.clone();
        }
        Err(why) => event.withheld = why as i32,
    }
    event
}

fn closed(subject: &str) -> ApiError {
    ApiError::FailedPrecondition(vec![PreconditionViolation {
        kind: "STATE".to_owned(),
        subject: subject.to_owned(),
        description: "the wave is closed".to_owned(),
    }])
}

/// Why a submission failed: the respondent's doing, or the service's.
#[derive(Debug)]
pub enum SubmitError {
    /// Not taken, for a reason the page explains.
    NotTaken(NotTaken),
    /// The database failed; nothing was stored and the code still works.
    Storage(DbError),
}

impl From<NotTaken> for SubmitError {
    fn from(e: NotTaken) -> Self {
        Self::NotTaken(e)
    }
}

impl From<DbError> for SubmitError {
    fn from(e: DbError) -> Self {
        Self::Storage(e)
    }
}
