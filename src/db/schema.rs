//! The diesel table definitions, shared by both backends: every column uses a type SQLite and
//! PostgreSQL both support (ids BIGINT, timestamps as UTC `TIMESTAMP`), so one schema serves both
//! migrations. Keep it in step with `migrations/{sqlite,postgres}`.

diesel::table! {
    creative_fields (slug) {
        slug -> Text,
        name -> Text,
        since_year -> Integer,
        coordinator_email -> Nullable<Text>,
        name_fr -> Nullable<Text>,
    }
}

diesel::table! {
    reminder_digests (id) {
        id -> BigInt,
        day -> Date,
        state -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        on_notice -> Integer,
        cannot_remind -> Integer,
        failed -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    cities (id) {
        id -> BigInt,
        slug -> Text,
        name -> Text,
        country -> Text,
        field -> Text,
        designation_date -> Date,
        time_zone -> Text,
        language -> Text,
        status -> Text,
        search_text -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    city_aliases (id) {
        id -> BigInt,
        city_id -> BigInt,
        alias -> Text,
    }
}

diesel::table! {
    city_field_history (id) {
        id -> BigInt,
        city_id -> BigInt,
        field -> Text,
        valid_from -> Date,
        valid_to -> Nullable<Date>,
    }
}

diesel::table! {
    contacts (id) {
        id -> BigInt,
        city_id -> BigInt,
        name -> Text,
        email -> Text,
        role -> Nullable<Text>,
        phone -> Nullable<Text>,
        is_primary -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        name -> Text,
        token_hash -> Text,
        role -> Text,
        field -> Nullable<Text>,
        city_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor -> Text,
        token_id -> Nullable<BigInt>,
        action -> Text,
        subject_type -> Text,
        subject_id -> Text,
        details -> Text,
        request_id -> Nullable<Text>,
        client_addr -> Nullable<Text>,
    }
}

diesel::table! {
    reporting_cycles (id) {
        id -> BigInt,
        city_id -> BigInt,
        number -> Integer,
        period_start_year -> Integer,
        period_end_year -> Integer,
        due_date -> Date,
        due_date_overridden -> Bool,
        created_at -> Timestamp,
        extended_due -> Nullable<Date>,
        /// Generated: `COALESCE(extended_due, due_date)`; never written.
        due_in_force -> Date,
        city_slug -> Text,
        city_field -> Text,
        first_submitted_at -> Nullable<Timestamp>,
        latest_decision -> Nullable<Text>,
        revision_due -> Nullable<Date>,
        /// A past round closed by `mmr history import`: never reminded.
        closed_by_history -> Bool,
    }
}

diesel::table! {
    history_rounds (id) {
        id -> BigInt,
        cycle_id -> BigInt,
        due_date -> Date,
        received_on -> Nullable<Date>,
        decision -> Text,
        decided_on -> Nullable<Date>,
        language -> Text,
        file_name -> Nullable<Text>,
        pdf_sha256 -> Nullable<Text>,
        text_note -> Nullable<Text>,
        notes -> Text,
        imported_by -> Text,
        imported_at -> Timestamp,
        revision_due -> Nullable<Date>,
    }
}

diesel::table! {
    cycle_extensions (id) {
        id -> BigInt,
        cycle_id -> BigInt,
        previous_due -> Date,
        new_due -> Date,
        reason -> Text,
        granted_by -> Text,
        granted_at -> Timestamp,
    }
}

diesel::table! {
    drafts (cycle_id) {
        cycle_id -> BigInt,
        report_markdown -> Text,
        action_plan_markdown -> Text,
        updated_by -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    submissions (id) {
        id -> BigInt,
        cycle_id -> BigInt,
        version -> Integer,
        report_markdown -> Text,
        action_plan_markdown -> Text,
        bundle_sha256 -> Text,
        submitted_by -> Text,
        submitted_at -> Timestamp,
        late -> Bool,
    }
}

diesel::table! {
    attachments (id) {
        id -> BigInt,
        draft_cycle_id -> Nullable<BigInt>,
        submission_id -> Nullable<BigInt>,
        name -> Text,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        data -> Binary,
    }
}

diesel::table! {
    review_comments (id) {
        id -> BigInt,
        submission_id -> BigInt,
        parent_id -> Nullable<BigInt>,
        author -> Text,
        author_role -> Text,
        section -> Nullable<Text>,
        body_markdown -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    review_decisions (id) {
        id -> BigInt,
        submission_id -> BigInt,
        decision -> Text,
        comments -> Nullable<Text>,
        revision_due -> Nullable<Date>,
        accepted_sha256 -> Nullable<Text>,
        decided_by -> Text,
        decided_at -> Timestamp,
    }
}

diesel::table! {
    archived_documents (id) {
        id -> BigInt,
        submission_id -> BigInt,
        pdf_sha256 -> Text,
        pdf_bytes -> BigInt,
        bundle_sha256 -> Nullable<Text>,
        bundle_bytes -> Nullable<BigInt>,
        renderer_version -> Text,
        template_version -> Text,
        archived_at -> Timestamp,
        published_at -> Nullable<Timestamp>,
        last_fixity_at -> Nullable<Timestamp>,
        last_fixity_ok -> Nullable<Bool>,
        public_since -> Nullable<Timestamp>,
        pdf_edges_sha256 -> Nullable<Text>,
        bundle_edges_sha256 -> Nullable<Text>,
        withdrawn_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    archive_verifications (archive_id, renderer_version, template_version) {
        archive_id -> BigInt,
        renderer_version -> Text,
        template_version -> Text,
        verified_at -> Timestamp,
        rerendered_sha256 -> Nullable<Text>,
        problem -> Nullable<Text>,
    }
}

diesel::table! {
    catalog_revision (id) {
        id -> Integer,
        revision -> BigInt,
    }
}

diesel::table! {
    reminders (id) {
        id -> BigInt,
        cycle_id -> BigInt,
        kind -> Text,
        stage -> Text,
        recipient -> Text,
        send_on -> Date,
        state -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamp>,
        claimed_by -> Nullable<Text>,
        claimed_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    reminder_suppressions (id) {
        id -> BigInt,
        city_id -> BigInt,
        until_date -> Nullable<Date>,
        reason -> Text,
        created_by -> Text,
        created_at -> Timestamp,
        lifted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    staff_addresses (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sign_in_links (id) {
        id -> BigInt,
        link_hash -> Text,
        person -> Text,
        name -> Text,
        role -> Text,
        field -> Nullable<Text>,
        city_id -> Nullable<BigInt>,
        return_to -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        session_hash -> Text,
        person -> Text,
        name -> Text,
        role -> Text,
        field -> Nullable<Text>,
        city_id -> Nullable<BigInt>,
        token_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        expires_at -> Timestamp,
        ended_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(api_tokens -> cities (city_id));
diesel::joinable!(sessions -> api_tokens (token_id));
diesel::joinable!(sessions -> cities (city_id));
diesel::joinable!(reporting_cycles -> cities (city_id));
diesel::joinable!(reminders -> reporting_cycles (cycle_id));
diesel::joinable!(city_aliases -> cities (city_id));
diesel::joinable!(contacts -> cities (city_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    cities,
    city_aliases,
    contacts,
    reminders,
    reporting_cycles,
    sessions
);
