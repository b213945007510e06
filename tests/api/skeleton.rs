//! Starting a report (`GET /cycles/{id}/draft/skeleton`): the template's skeleton in the city's
//! language, the previous accepted action plan carried forward into its progress part, the
//! template check on that part, the reviewer's reference to the previous plan, and the progress
//! table in the version's PDF.

use axum::http::{Method, StatusCode};
use chrono::NaiveDate;
use mmr::domain::auth::Role;
use mmr::domain::cities::{CityInput, NewCity};
use mmr::domain::cycles::CycleRules;
use mmr::workflow::{self, Actor};
use serde_json::{Value, json};

use crate::helpers::{TestApp, now, pdftotext};
use crate::submissions::open_cycle;

async fn skeleton_in_english_without_a_previous_plan(app: TestApp) {
    let (cycle, city) = open_cycle(&app).await;
    let path = format!("/api/v1/cycles/{cycle}/draft/skeleton");
    let r = app.get(&path, Some(&city)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["cycle_id"], cycle);
    assert_eq!(r.body["language"], "en");
    assert_eq!(r.body["previous_action_plan"], Value::Null);
    assert_eq!(r.body["previous_items"], json!([]));
    let report = r.body["report_markdown"].as_str().unwrap();
    let plan = r.body["action_plan_markdown"].as_str().unwrap();
    assert!(report.starts_with("# 1. Executive Summary\n\n*In about a page"), "{report}");
    assert!(report.contains("# 5. Major Initiatives Implemented through Inter-City Cooperation\n\n*"), "{report}");
    assert!(!report.contains("Progress"), "{report}");
    assert!(plan.contains("## 6.3 Budget\n\n*The estimated budget"), "{plan}");

    // Saved as it is, it is a draft the check finds nothing in.
    let body = json!({ "report_markdown": report, "action_plan_markdown": plan });
    let r = app.call(Method::PUT, &format!("/api/v1/cycles/{cycle}/draft"), Some(&city), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["check"]["ok"], true, "{}", r.text);
    assert_eq!(r.body["check"]["findings"], json!([]), "{}", r.text);

    // Read like the draft: the city, its field's coordinator and the Secretariat; no one else.
    app.city("parma", "Parma", "IT", "gastronomy");
    let other = app.token(Role::City, None, Some("parma"));
    let coordinator = app.token(Role::Coordinator, Some("gastronomy"), None);
    let other_field = app.token(Role::Coordinator, Some("music"), None);
    for (token, status) in [
        (None, 401),
        (Some(&other), 403),
        (Some(&other_field), 403),
        (Some(&coordinator), 200),
        (Some(&app.admin), 200),
    ] {
        let r = app.get(&path, token.map(String::as_str)).await;
        assert_eq!(r.status.as_u16(), status, "{token:?}: {}", r.text);
    }
    assert_eq!(app.get("/api/v1/cycles/999999/draft/skeleton", Some(&app.admin)).await.status, StatusCode::NOT_FOUND);
}

const OLD_REPORT: &str = "\
# Résumé analytique\n\nJacmel a tenu parole.\n\n\
# Informations générales\n\nLe bureau de la culture.\n\n\
# Contribution à la gestion globale du Réseau\n\nRéunion annuelle de 2019.\n\n\
# Principales initiatives mises en œuvre au niveau local\n\nLe carnaval.\n\n\
# Principales initiatives mises en œuvre dans le cadre de la coopération entre villes\n\nAvec Saint-Étienne.\n";

const OLD_PLAN: &str = "\
# Plan d'action proposé pour la prochaine période de quatre ans\n\nQuatre ans encore.\n\n\
## 6.1 Initiatives locales\n\n- Atelier de papier mâché\n- Salon de l'artisanat\n\n\
## 6.2 Initiatives internationales et entre villes\n\n- Résidence d'artisans à Saint-Étienne\n\n\
## 6.3 Budget\n\n| Initiative | Montant |\n|---|---|\n| Atelier de papier mâché | 10 000 USD |\n| Total | 10 000 USD |\n\n\
## 6.4 Plan de communication et de sensibilisation\n\n- Une émission de radio mensuelle\n";

/// Jacmel (French, designated 2014) with its 2018–2022 report accepted and its 2022–2026 cycle
/// open: returns (old cycle, new cycle, accepted version, city token).
async fn city_with_accepted_previous_report(app: &TestApp) -> (i64, i64, i64, String) {
    let input = CityInput {
        slug: Some("jacmel"),
        name: "Jacmel",
        country: "HT",
        field: "crafts_folk_art",
        designation_date: Some(NaiveDate::from_ymd_opt(2014, 12, 1).unwrap()),
        language: Some("fr"),
        ..CityInput::default()
    };
    let city = NewCity::parse(&input, now().date()).unwrap();
    app.db.run_blocking(|conn| workflow::cities::create(conn, &Actor::cli(), &city, now())).unwrap();
    // Track the 2022 round too, as a catch-up would.
    let rules = CycleRules { first_due_year: 2022, ..CycleRules::default() };
    app.db.run_blocking(|conn| workflow::cycles::sync(conn, &Actor::cli(), &rules, now())).unwrap();
    let token = app.token(Role::City, None, Some("jacmel"));
    let cycles = app.get("/api/v1/cities/jacmel/cycles", Some(&token)).await;
    assert_eq!(cycles.status, StatusCode::OK, "{}", cycles.text);
    let id_of = |status: &str| {
        cycles.body["items"].as_array().unwrap().iter().find(|c| c["status"] == status).expect(status)["id"]
            .as_i64()
            .unwrap()
    };
    let (old, new) = (id_of("overdue"), id_of("open"));
    let body = json!({ "report_markdown": OLD_REPORT, "action_plan_markdown": OLD_PLAN });
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{old}/submissions"), Some(&token), Some(body)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let accepted = r.body["id"].as_i64().unwrap();
    let accept = json!({ "decision": "accept" });
    let decide = format!("/api/v1/submissions/{accepted}/decision");
    let r = app.call(Method::POST, &decide, Some(&app.admin), Some(accept)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    (old, new, accepted, token)
}

async fn skeleton_in_french_carries_the_previous_plan_forward(app: TestApp) {
    let (old, new, accepted, city) = city_with_accepted_previous_report(&app).await;
    let r = app.get(&format!("/api/v1/cycles/{new}/draft/skeleton"), Some(&city)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["language"], "fr");
    let previous = &r.body["previous_action_plan"];
    assert_eq!(previous["cycle_id"], old);
    assert_eq!(previous["submission_id"], accepted);
    assert_eq!(previous["period"], "2018–2022");
    assert_eq!(previous["action_plan_markdown"], OLD_PLAN);
    let items: Vec<(&str, &str)> = r.body["previous_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["section"].as_str().unwrap(), i["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        items,
        [
            ("6.1", "Atelier de papier mâché"),
            ("6.1", "Salon de l’artisanat"),
            ("6.2", "Résidence d’artisans à Saint-Étienne"),
            ("6.4", "Une émission de radio mensuelle"),
        ]
    );
    let report = r.body["report_markdown"].as_str().unwrap().to_owned();
    let plan = r.body["action_plan_markdown"].as_str().unwrap().to_owned();
    assert!(report.starts_with("# 1. Résumé analytique\n\n*En une page"), "{report}");
    assert!(plan.starts_with("# 6. Plan d'action proposé pour la prochaine période de quatre ans\n\n*"), "{plan}");
    assert!(
        report.contains(
            "## 7.1 Progrès du plan d'action précédent\n\n*Pour chaque élément du précédent plan d'action accepté"
        ),
        "{report}"
    );
    assert!(
        report.contains("| Élément | État | Commentaire |\n|---|---|---|\n| 6.1 Atelier de papier mâché |  |  |\n")
    );

    // Saved as the first draft: a warning per item still without a status, and no error.
    let draft = format!("/api/v1/cycles/{new}/draft");
    let body = json!({ "report_markdown": report, "action_plan_markdown": plan });
    let r = app.call(Method::PUT, &draft, Some(&city), Some(body)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["check"]["ok"], true, "{}", r.text);
    let findings = r.body["check"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 4, "{}", r.text);
    assert!(findings.iter().all(|f| f["code"] == "progress_without_status" && f["severity"] == "warning"));
    assert!(findings[1]["message"].as_str().unwrap().contains("“6.1 Salon de l’artisanat” has no status"));

    // A row deleted is an item left without a status: named too.
    let without_radio: String =
        report.lines().filter(|l| !l.contains("radio")).map(|l| format!("{l}\n")).collect::<String>();
    let body = json!({ "report_markdown": without_radio, "action_plan_markdown": plan });
    let r = app.call(Method::PUT, &draft, Some(&city), Some(body)).await;
    let findings = r.body["check"]["findings"].as_array().unwrap();
    let missing: Vec<&Value> = findings.iter().filter(|f| f["code"] == "progress_item_missing").collect();
    assert_eq!(missing.len(), 1, "{}", r.text);
    assert!(missing[0]["message"].as_str().unwrap().contains("“6.4 Une émission de radio mensuelle”"), "{}", r.text);

    // The city answers three items; the fourth is named.
    let answered = report
        .replace("| 6.1 Atelier de papier mâché |  |  |", "| 6.1 Atelier de papier mâché | réalisé | Douze ateliers. |")
        .replace(
            "| 6.1 Salon de l’artisanat |  |  |",
            "| 6.1 Salon de l’artisanat | partiellement réalisé | Une édition. |",
        )
        .replace("Saint-Étienne |  |  |", "Saint-Étienne | non réalisé | Reportée. |");
    let body = json!({ "report_markdown": answered, "action_plan_markdown": plan });
    let r = app.call(Method::PUT, &draft, Some(&city), Some(body.clone())).await;
    let findings = r.body["check"]["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{}", r.text);
    assert!(findings[0]["message"].as_str().unwrap().contains("“6.4 Une émission de radio mensuelle”"), "{}", r.text);

    // Submitted: the reviewer sees the previous accepted plan beside the version.
    let r = app.call(Method::POST, &format!("/api/v1/cycles/{new}/submissions"), Some(&city), None).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let version = r.body["id"].as_i64().unwrap();
    let coordinator = app.token(Role::Coordinator, Some("crafts_folk_art"), None);
    let r = app.get(&format!("/api/v1/submissions/{version}"), Some(&coordinator)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["report_markdown"], answered);
    assert_eq!(r.body["previous_action_plan"]["submission_id"], accepted);
    assert_eq!(r.body["previous_action_plan"]["action_plan_markdown"], OLD_PLAN);
    // The first report had none before it.
    let r = app.get(&format!("/api/v1/submissions/{accepted}"), Some(&coordinator)).await;
    assert_eq!(r.body["previous_action_plan"], Value::Null, "{}", r.text);

    // Its PDF carries the progress part as a table: item, status, comment.
    let r = app.get(&format!("/api/v1/submissions/{version}/pdf"), Some(&coordinator)).await;
    assert_eq!(r.status, StatusCode::OK);
    let text = pdftotext(r.text_bytes()).replace('’', "'");
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("7.1 Progrès du plan d'action précédent"), "{text}");
    for cell in [
        "Élément",
        "État",
        "Commentaire",
        "6.1 Atelier de papier mâché",
        "partiellement réalisé",
        "Une édition.",
        "non réalisé",
        "6.4 Une émission de radio mensuelle",
    ] {
        assert!(words.contains(cell), "{cell} in {text}");
    }
}

crate::both_backends!(
    skeleton_in_english_without_a_previous_plan,
    skeleton_in_french_carries_the_previous_plan_forward
);
