//! Safety notices: what one member learned, sent to others. A notice crosses
//! jurisdictions by design, so who sees what is decided here, per caller: the
//! issuer's jurisdiction sees the whole notice and every response; a
//! recipient sees the notice without its source and only its own response;
//! anyone else sees nothing, not even whether the notice exists.

use std::collections::HashSet;

use scir_kit::ApiError;
use scir_kit::audit::AuditRecord;
use scir_kit::auth::{Caller, ExposeSecret as _};
use scir_kit::db::{Proto, now_micros, timestamp_from_micros};
use scir_kit::events::NewEvent;
use scir_kit::names::{AggregateMappingName, JurisdictionName, ReviewName, SafetyNoticeName};
use scir_kit::validate::{Check, to_date};
use scir_proto::learning::v1 as pb;

use super::{Learning, today};
use crate::domain::checks;
use crate::review_link::Source;
use crate::store::{self, StoredNotice, StoredResponse};

/// Most notices listed.
const MAX_LISTED: i64 = 500;

/// Whole days between two instants in microseconds.
fn days_between(from: i64, to: i64) -> i32 {
    i32::try_from((to - from).div_euclid(86_400_000_000)).unwrap_or(i32::MAX)
}

/// How a caller sees a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View<'a> {
    /// The issuer's jurisdiction (or its state): everything.
    Issuer,
    /// A recipient: the notice and its own response.
    Recipient(&'a str),
}

impl Learning {
    /// The member jurisdictions' ids.
    fn members(&self) -> HashSet<&str> {
        self.directory.iter().map(|j| j.id.as_str()).collect()
    }

    /// `IssueSafetyNotice`.
    pub async fn issue_notice(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::IssueSafetyNoticeRequest,
    ) -> Result<pb::SafetyNotice, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        if parent.0 != caller.jurisdiction {
            self.guard
                .record(caller, method, &request.parent, "denied: jurisdiction")
                .await?;
            return Err(ApiError::PermissionDenied(
                "safety notices are issued in the caller's own jurisdiction".to_owned(),
            ));
        }
        let mut notice = request
            .safety_notice
            .ok_or_else(|| ApiError::invalid("safety_notice", "is required"))?;
        let mut check = Check::new("safety_notice.");
        checks::notice(&mut check, &notice, &parent.0, &self.members(), today());
        if check.is_empty() {
            self.check_notice_source(caller, &notice.source, &mut check)
                .await?;
            self.check_notice_language(caller, &notice, &mut check)
                .await?;
        }
        check.finish()?;
        if notice.recipients.is_empty() {
            notice.recipients = checks::every_member_but(&self.directory, &parent.0);
        }
        let now = now_micros();
        let stored = StoredNotice {
            seq: 0,
            id: uuid::Uuid::now_v7().to_string(),
            jurisdiction: parent.0.clone(),
            body: Proto(pb::SafetyNotice {
                name: String::new(),
                responses: Vec::new(),
                response_rate: 0.0,
                issued_by: caller.subject.clone(),
                create_time: None,
                ..notice.clone()
            }),
            create_time: now,
        };
        let name = SafetyNoticeName::new(parent.0.clone(), stored.id.clone()).to_string();
        let mut unit = self.events.begin().await?;
        store::insert_notice(unit.connection().await?, &stored, &notice.recipients).await?;
        unit.audit(AuditRecord::by(
            caller,
            method,
            &name,
            &parent.0,
            &format!("ok: {} recipients", notice.recipients.len()),
        ));
        unit.publish(NewEvent::of(
            name.clone(),
            parent.0.clone(),
            &pb::SafetyNoticeIssued {
                name: name.clone(),
                theme: notice.theme,
                recipients: i32::try_from(notice.recipients.len()).unwrap_or(i32::MAX),
                response_due: notice.response_due,
                recipient_jurisdictions: notice.recipients.clone(),
            },
        ));
        unit.commit().await?;
        let responses = self.responses_of(&stored).await?;
        Ok(present_notice(&stored, &responses, View::Issuer))
    }

    /// The source names a mapping or review of the issuer that exists.
    async fn check_notice_source(
        &self,
        caller: &Caller,
        source: &str,
        check: &mut Check<'_>,
    ) -> Result<(), ApiError> {
        if source.is_empty() {
            return Ok(());
        }
        let found = if let Ok(mapping) = AggregateMappingName::parse(source, "source") {
            let mut conn = self.db.acquire().await?;
            store::mapping(&mut conn, &mapping.id)
                .await?
                .is_some_and(|m| m.jurisdiction == mapping.jurisdiction)
        } else if ReviewName::parse(source, "source").is_ok() {
            self.review
                .source(caller.bearer.expose_secret(), source)
                .await?
                != Source::Unknown
        } else {
            false
        };
        if !found {
            check.bad("source", "no such aggregate mapping or review");
        }
        Ok(())
    }

    /// No names, case numbers, blame or hindsight in what other members read.
    async fn check_notice_language(
        &self,
        caller: &Caller,
        notice: &pb::SafetyNotice,
        check: &mut Check<'_>,
    ) -> Result<(), ApiError> {
        for (field, text) in [("title", &notice.title), ("body", &notice.body)] {
            self.language_violations(caller, field, text, check).await?;
        }
        Ok(())
    }

    /// Each finding of review's language check in `text`, as a violation of `field`.
    async fn language_violations(
        &self,
        caller: &Caller,
        field: &str,
        text: &str,
        check: &mut Check<'_>,
    ) -> Result<(), ApiError> {
        use scir_proto::Labelled as _;
        for finding in self
            .review
            .language(caller.bearer.expose_secret(), text)
            .await?
        {
            let category = scir_proto::review::v1::FindingCategory::try_from(finding.category)
                .map(|c| c.label())
                .unwrap_or("FINDING");
            check.bad(
                field,
                format!("{category} \"{}\": {}", finding.text, finding.suggestion),
            );
        }
        Ok(())
    }

    async fn responses_of(&self, notice: &StoredNotice) -> Result<Vec<StoredResponse>, ApiError> {
        let mut conn = self.db.acquire().await?;
        Ok(store::responses(&mut conn, &notice.id).await?)
    }

    /// The notice `name` and how the caller sees it; PERMISSION_DENIED (audited)
    /// for anyone else, whether or not it exists.
    async fn load_notice(
        &self,
        caller: &Caller,
        method: &str,
        name: &SafetyNoticeName,
    ) -> Result<(StoredNotice, Vec<StoredResponse>, bool), ApiError> {
        let resource = name.to_string();
        let issuer_side = caller
            .authorize_jurisdiction(&self.directory, &name.jurisdiction)
            .is_ok();
        let mut conn = self.db.acquire().await?;
        let found = store::notice(&mut conn, &name.id)
            .await?
            .filter(|n| n.jurisdiction == name.jurisdiction);
        let responses = match &found {
            Some(n) => store::responses(&mut conn, &n.id).await?,
            None => Vec::new(),
        };
        drop(conn);
        let recipient = responses
            .iter()
            .any(|r| r.jurisdiction == caller.jurisdiction);
        match found {
            Some(notice) if issuer_side || recipient => Ok((notice, responses, issuer_side)),
            None if issuer_side => Err(ApiError::NotFound { resource }),
            _ => {
                self.guard
                    .record(caller, method, &resource, "denied: jurisdiction")
                    .await?;
                Err(ApiError::PermissionDenied(
                    "the notice belongs to another jurisdiction and is not addressed to this one"
                        .to_owned(),
                ))
            }
        }
    }

    /// `GetSafetyNotice`.
    pub async fn get_notice(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::GetSafetyNoticeRequest,
    ) -> Result<pb::SafetyNotice, ApiError> {
        let name = SafetyNoticeName::parse(&request.name, "name")?;
        let (notice, responses, issuer_side) = self.load_notice(caller, method, &name).await?;
        let view = if issuer_side {
            View::Issuer
        } else {
            View::Recipient(&caller.jurisdiction)
        };
        self.guard
            .record(caller, method, &request.name, "ok")
            .await?;
        Ok(present_notice(&notice, &responses, view))
    }

    /// `ListSafetyNotices`.
    pub async fn list_notices(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::ListSafetyNoticesRequest,
    ) -> Result<pb::ListSafetyNoticesResponse, ApiError> {
        let parent = JurisdictionName::parse(&request.parent, "parent")?;
        let mut check = Check::new("");
        let boxed = check.known_enum::<pb::NoticeBox>("box", request.r#box);
        check.finish()?;
        self.guard
            .authorize(caller, method, &request.parent, &parent.0)
            .await?;
        let (issued, received) = match boxed.unwrap_or_default() {
            pb::NoticeBox::Issued => (true, false),
            pb::NoticeBox::Received => (false, true),
            pb::NoticeBox::Unspecified => (true, true),
        };
        let mut conn = self.db.acquire().await?;
        let mut rows: Vec<(StoredNotice, bool)> = Vec::new();
        if issued && !request.unanswered_only {
            for n in store::issued(&mut conn, &parent.0, MAX_LISTED).await? {
                rows.push((n, true));
            }
        }
        if received {
            for n in
                store::received(&mut conn, &parent.0, request.unanswered_only, MAX_LISTED).await?
            {
                rows.push((n, false));
            }
        }
        rows.sort_by_key(|(n, _)| std::cmp::Reverse(n.seq));
        rows.truncate(usize::try_from(MAX_LISTED).unwrap_or(usize::MAX));
        // Every listed notice's responses in one query: a list costs the
        // same few queries however many notices it shows.
        let ids: Vec<&str> = rows.iter().map(|(n, _)| n.id.as_str()).collect();
        let mut by_notice: std::collections::HashMap<String, Vec<StoredResponse>> =
            std::collections::HashMap::new();
        for r in store::responses_of(&mut conn, &ids).await? {
            by_notice.entry(r.notice_id.clone()).or_default().push(r);
        }
        drop(conn);
        let safety_notices = rows
            .iter()
            .map(|(notice, issuer_side)| {
                let view = if *issuer_side {
                    View::Issuer
                } else {
                    View::Recipient(&parent.0)
                };
                let responses = by_notice.get(&notice.id).map_or(&[][..], Vec::as_slice);
                present_notice(notice, responses, view)
            })
            .collect();
        self.guard
            .record(caller, method, &request.parent, "ok")
            .await?;
        Ok(pb::ListSafetyNoticesResponse { safety_notices })
    }

    /// `RespondToSafetyNotice`: the caller's own jurisdiction answers.
    pub async fn respond(
        &self,
        caller: &Caller,
        method: &str,
        request: pb::RespondToSafetyNoticeRequest,
    ) -> Result<pb::NoticeResponse, ApiError> {
        let name = SafetyNoticeName::parse(&request.name, "name")?;
        let mut check = Check::new("");
        checks::response(&mut check, request.kind, &request.detail);
        check.finish()?;
        let (notice, responses, _) = self.load_notice(caller, method, &name).await?;
        if !responses
            .iter()
            .any(|r| r.jurisdiction == caller.jurisdiction)
        {
            self.guard
                .record(caller, method, &request.name, "denied: not a recipient")
                .await?;
            return Err(ApiError::PermissionDenied(
                "only a jurisdiction the notice is addressed to responds to it".to_owned(),
            ));
        }
        let mut check = Check::new("");
        self.language_violations(caller, "detail", &request.detail, &mut check)
            .await?;
        check.finish()?;
        let now = now_micros();
        let response = StoredResponse {
            notice_id: notice.id.clone(),
            jurisdiction: caller.jurisdiction.clone(),
            kind: request.kind,
            detail: request.detail.clone(),
            respond_time: Some(now),
        };
        let resource = name.to_string();
        let days = days_between(notice.create_time, now);
        let mut unit = self.events.begin().await?;
        store::respond(unit.connection().await?, &response).await?;
        unit.audit(AuditRecord::by(
            caller,
            method,
            &resource,
            &caller.jurisdiction,
            "ok",
        ));
        unit.publish(NewEvent::of(
            resource.clone(),
            notice.jurisdiction.clone(),
            &pb::SafetyNoticeAnswered {
                name: resource,
                jurisdiction: caller.jurisdiction.clone(),
                kind: request.kind,
                days_to_respond: days,
            },
        ));
        unit.commit().await?;
        Ok(present_response(&notice, &response))
    }
}

fn present_response(notice: &StoredNotice, r: &StoredResponse) -> pb::NoticeResponse {
    let due = notice.body.response_due.as_ref().and_then(to_date);
    pb::NoticeResponse {
        jurisdiction: r.jurisdiction.clone(),
        kind: r.kind,
        detail: r.detail.clone(),
        respond_time: r.respond_time.map(timestamp_from_micros),
        days_to_respond: r
            .respond_time
            .map_or(0, |t| days_between(notice.create_time, t)),
        overdue: r.kind == 0 && due.is_some_and(|d| d < today()),
    }
}

/// A notice as `view` sees it.
fn present_notice(
    notice: &StoredNotice,
    responses: &[StoredResponse],
    view: View<'_>,
) -> pb::SafetyNotice {
    let mut out = pb::SafetyNotice {
        name: SafetyNoticeName::new(notice.jurisdiction.clone(), notice.id.clone()).to_string(),
        create_time: Some(timestamp_from_micros(notice.create_time)),
        ..notice.body.0.clone()
    };
    match view {
        View::Issuer => {
            out.responses = responses
                .iter()
                .map(|r| present_response(notice, r))
                .collect();
            let answered = responses.iter().filter(|r| r.kind != 0).count();
            out.response_rate = if responses.is_empty() {
                0.0
            } else {
                answered as f64 / responses.len() as f64
            };
        }
        View::Recipient(jurisdiction) => {
            // The source names the issuer's own case work; other recipients
            // are the issuer's business.
            out.source.clear();
            out.issued_by.clear();
            out.recipients = vec![jurisdiction.to_owned()];
            out.responses = responses
                .iter()
                .filter(|r| r.jurisdiction == jurisdiction)
                .map(|r| present_response(notice, r))
                .collect();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> (StoredNotice, Vec<StoredResponse>) {
        let notice = StoredNotice {
            seq: 1,
            id: "0190a0a0-0000-7000-8000-000000000001".into(),
            jurisdiction: "us-wi".into(),
            body: Proto(pb::SafetyNotice {
                title: "t".into(),
                source: "jurisdictions/us-wi/reviews/x".into(),
                recipients: vec!["us-tn".into(), "us-ks".into()],
                issued_by: "admin-wi".into(),
                ..Default::default()
            }),
            create_time: 0,
        };
        let responses = vec![
            StoredResponse {
                notice_id: notice.id.clone(),
                jurisdiction: "us-ks".into(),
                kind: pb::ResponseKind::Acknowledged as i32,
                detail: String::new(),
                respond_time: Some(3 * 86_400_000_000 + 5),
            },
            StoredResponse {
                notice_id: notice.id.clone(),
                jurisdiction: "us-tn".into(),
                kind: 0,
                detail: String::new(),
                respond_time: None,
            },
        ];
        (notice, responses)
    }

    #[test]
    fn a_recipient_sees_the_notice_and_its_own_response_only() {
        let (notice, responses) = stored();
        let seen = present_notice(&notice, &responses, View::Recipient("us-tn"));
        assert!(seen.source.is_empty() && seen.issued_by.is_empty());
        assert_eq!(seen.recipients, ["us-tn"]);
        assert_eq!(seen.responses.len(), 1);
        assert_eq!(seen.responses[0].jurisdiction, "us-tn");
        assert_eq!(seen.response_rate, 0.0);
    }

    #[test]
    fn the_issuer_sees_every_response_and_the_rate() {
        let (notice, responses) = stored();
        let seen = present_notice(&notice, &responses, View::Issuer);
        assert_eq!(seen.source, "jurisdictions/us-wi/reviews/x");
        assert_eq!(seen.responses.len(), 2);
        assert_eq!(seen.response_rate, 0.5);
        assert_eq!(seen.responses[0].days_to_respond, 3);
    }
}
