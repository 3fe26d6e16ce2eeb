//! The answer page: plain HTML that works without JavaScript, on a phone and by
//! keyboard alone. A link carrying the code opens the form; without a code the
//! page asks for one. Every reason a code cannot be used reads the same.

use std::sync::Arc;
use std::time::Duration;

use http::{Method, StatusCode};
use scir_kit::pages::{Page, PageFuture, PageHandler, PageRequest, RateLimit};
use scir_proto::culture::v1 as pb;

use crate::service::{Culture, Invitation, NotTaken, SURVEY_PATH, SubmitError};

/// Attempts per code per minute (a person retrying; never a guesser's pace).
const PER_CODE_PER_MINUTE: u32 = 10;

const STYLE: &str = "body{font-family:system-ui,sans-serif;line-height:1.5;margin:0 auto;max-width:44rem;padding:1rem;color:#1a1a1a;background:#fff}\
h1{font-size:1.5rem}fieldset{border:1px solid #767676;border-radius:4px;margin:0 0 1rem;padding:.75rem}\
legend{font-weight:600;padding:0 .25rem}label{display:block;padding:.35rem 0;cursor:pointer}\
input[type=radio]{margin-right:.5rem;transform:scale(1.2)}input[type=text]{font-size:1.1rem;padding:.5rem;width:100%;max-width:20rem;box-sizing:border-box}\
button{font-size:1.1rem;padding:.6rem 1.4rem;background:#0b5394;color:#fff;border:0;border-radius:4px;cursor:pointer}\
button:focus,input:focus{outline:3px solid #b35900;outline-offset:2px}.note{color:#444}";

/// Serves the answer page of `culture`.
#[derive(Debug)]
pub struct SurveyPages {
    culture: Culture,
    per_code: RateLimit,
}

impl SurveyPages {
    /// The pages over `culture`'s use cases.
    pub fn new(culture: Culture) -> Arc<Self> {
        Arc::new(Self {
            culture,
            per_code: RateLimit::new(PER_CODE_PER_MINUTE, Duration::from_secs(60)),
        })
    }
}

/// Text made safe to place in HTML, in content or in a quoted attribute.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn document(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><link rel=\"stylesheet\" href=\"{SURVEY_PATH}/style.css\"></head>\
         <body><main>{body}</main></body></html>",
        title = escape(title)
    )
}

fn message(status: StatusCode, title: &str, text: &str) -> Page {
    Page::html(
        status,
        document(
            title,
            &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(text)),
        ),
    )
}

fn unusable() -> Page {
    message(
        StatusCode::NOT_FOUND,
        "This code cannot be used",
        "The code may have been used already, typed with a mistake, or the survey may be closed. \
         If you were given a code and have not answered yet, ask the person who gave it to you.",
    )
}

/// The database failed: nothing was stored and the code still works.
fn unavailable(e: &scir_kit::db::DbError) -> Page {
    tracing::warn!(error = %e, "the survey page could not reach its database");
    message(
        StatusCode::SERVICE_UNAVAILABLE,
        "Your answers were not recorded",
        "Something went wrong on our side. Your code still works: please try again in a few minutes.",
    )
}

fn ask_for_code() -> Page {
    Page::html(
        StatusCode::OK,
        document(
            "Safety culture survey",
            &format!(
                "<h1>Safety culture survey</h1>\
                 <p>Enter the invitation code you were given. Your answers are anonymous: \
                 they are kept without the code, your name or the time you answered.</p>\
                 <form method=\"get\" action=\"{SURVEY_PATH}\">\
                 <label for=\"code\">Invitation code</label>\
                 <input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"off\" \
                 autocapitalize=\"characters\" spellcheck=\"false\" required>\
                 <p><button type=\"submit\">Continue</button></p></form>"
            ),
        ),
    )
}

fn scale_labels(scale: i32) -> [&'static str; 5] {
    if scale == pb::Scale::Frequency as i32 {
        ["Never", "Rarely", "Sometimes", "Most of the time", "Always"]
    } else {
        [
            "Strongly disagree",
            "Disagree",
            "Neither agree nor disagree",
            "Agree",
            "Strongly agree",
        ]
    }
}

/// The form of an invitation: one group of choices per item, each with
/// "prefer not to answer" (chosen until the respondent picks another).
pub fn form(invitation: &Invitation) -> String {
    let items = invitation.instrument.items();
    let mut body = format!(
        "<h1>{}</h1><p>{} questions. Choose the answer closest to your experience in your team; \
         every question can be left as \u{201c}Prefer not to answer\u{201d}. Your answers are \
         anonymous: they are kept without the code, your name or the time you answered.</p>\
         <form method=\"post\" action=\"{SURVEY_PATH}\">\
         <input type=\"hidden\" name=\"code\" value=\"{}\">",
        escape(&invitation.title),
        items.len(),
        escape(&invitation.code)
    );
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        body.push_str(&format!(
            "<fieldset><legend>{n}. {}</legend>",
            escape(&item.text)
        ));
        for (value, label) in scale_labels(item.scale).iter().enumerate() {
            let value = value + 1;
            body.push_str(&format!(
                "<label><input type=\"radio\" name=\"q{n}\" value=\"{value}\">{label}</label>"
            ));
        }
        body.push_str(&format!(
            "<label><input type=\"radio\" name=\"q{n}\" value=\"0\" checked>Prefer not to answer</label></fieldset>"
        ));
    }
    body.push_str(
        "<p class=\"note\">You can answer once. Sending is final.</p>\
         <p><button type=\"submit\">Send my answers</button></p></form>",
    );
    document(&invitation.title, &body)
}

/// The answers of a posted form, one per item (a missing one is no answer);
/// `None` when a value is not a number.
fn answers_of(request: &PageRequest, items: usize) -> Option<Vec<i32>> {
    (1..=items)
        .map(|n| match request.field(&format!("q{n}")) {
            None => Some(0),
            Some(v) => v.parse::<i32>().ok(),
        })
        .collect()
}

impl SurveyPages {
    async fn page(&self, request: PageRequest) -> Page {
        let path = request.path.as_str();
        if path == format!("{SURVEY_PATH}/style.css") {
            return Page::css(STYLE);
        }
        if path != SURVEY_PATH {
            return message(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
        }
        let Some(typed) = request.field("code").map(str::to_owned) else {
            return ask_for_code();
        };
        if typed.trim().is_empty() {
            return ask_for_code();
        }
        // Counted by the code's hash, so no code is held in memory.
        let key = crate::domain::codes::hash(
            &crate::domain::codes::normalise(&typed).unwrap_or_else(|| typed.clone()),
        );
        if !self.per_code.allow(&key) {
            return self.too_many();
        }
        let invitation = match self.culture.invitation(&typed).await {
            Ok(i) => i,
            Err(SubmitError::NotTaken(_)) => return unusable(),
            Err(SubmitError::Storage(e)) => return unavailable(&e),
        };
        if request.method == Method::GET {
            return Page::html(StatusCode::OK, form(&invitation));
        }
        let Some(answers) = answers_of(&request, invitation.instrument.items().len()) else {
            return message(
                StatusCode::BAD_REQUEST,
                "The answers could not be read",
                "Please go back and send the form again.",
            );
        };
        match self.culture.submit(&typed, &answers).await {
            Ok(()) => message(
                StatusCode::OK,
                "Thank you: your answers were recorded",
                "They are kept without your code, your name or the time you answered. \
                 The code no longer works, so nobody can answer again with it. You can close this page.",
            ),
            Err(SubmitError::NotTaken(NotTaken::CodeNotUsable)) => unusable(),
            Err(SubmitError::NotTaken(NotTaken::BadAnswers)) => message(
                StatusCode::BAD_REQUEST,
                "The answers could not be read",
                "Please go back and send the form again.",
            ),
            Err(SubmitError::Storage(e)) => unavailable(&e),
        }
    }
}

impl PageHandler for SurveyPages {
    fn handle(self: Arc<Self>, request: PageRequest) -> PageFuture {
        Box::pin(async move { self.page(request).await })
    }

    fn too_many(&self) -> Page {
        message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many attempts",
            "Please wait a minute and try again.",
        )
    }
}
