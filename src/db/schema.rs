// @generated automatically by Diesel CLI (kept in step with migrations/ by hand).

diesel::table! {
    api_tokens (id) {
        id -> Int8,
        user_id -> Nullable<Int8>,
        name -> Text,
        prefix -> Text,
        token_hash -> Bytea,
        scopes -> Text,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        last_used_ip -> Nullable<Text>,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Int8>,
        service_account_id -> Nullable<Int8>,
    }
}

diesel::table! {
    audit_subjects (kind, subject_id, audit_id) {
        kind -> Text,
        subject_id -> Int8,
        audit_id -> Int8,
        object_type -> Text,
        at -> Timestamptz,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Int8,
        at -> Timestamptz,
        actor_id -> Nullable<Int8>,
        actor_label -> Text,
        action -> Text,
        object_type -> Text,
        object_id -> Nullable<Text>,
        summary -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
        client_ip -> Nullable<Text>,
        request_id -> Nullable<Text>,
    }
}

diesel::table! {
    auth_sessions (id) {
        id -> Int8,
        user_id -> Int8,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_reason -> Nullable<Text>,
        client_ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    identity_links (id) {
        id -> Int8,
        user_id -> Int8,
        issuer -> Text,
        subject -> Text,
        email -> Nullable<Text>,
        created_at -> Timestamptz,
        last_login_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    sso_login_states (state_hash) {
        state_hash -> Bytea,
        nonce -> Text,
        pkce_verifier -> Text,
        redirect_uri -> Text,
        next_path -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    login_throttle (key) {
        key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        kind -> Text,
        user_id -> Nullable<Int8>,
        client_ip -> Nullable<Text>,
    }
}

diesel::table! {
    untrusted_forwarders (peer) {
        peer -> Text,
        first_seen -> Timestamptz,
        last_seen -> Timestamptz,
        requests -> Int8,
    }
}

diesel::table! {
    refresh_tokens (id) {
        id -> Int8,
        session_id -> Int8,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        rotated_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        full_name -> Text,
        email -> Text,
        username -> Nullable<Text>,
        password_hash -> Nullable<Text>,
        role -> Text,
        is_active -> Bool,
        department -> Nullable<Text>,
        job_title -> Nullable<Text>,
        manager_id -> Nullable<Int8>,
        employment_status -> Text,
        start_date -> Nullable<Date>,
        end_date -> Nullable<Date>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        calendar_token_hash -> Nullable<Bytea>,
    }
}

diesel::table! {
    login_links (id) {
        id -> Int8,
        user_id -> Int8,
        purpose -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        voided_at -> Nullable<Timestamptz>,
        created_by -> Nullable<Int8>,
    }
}

diesel::table! {
    services (id) {
        id -> Int8,
        name -> Text,
        vendor -> Text,
        category -> Text,
        website -> Text,
        description -> Text,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    products (id) {
        id -> Int8,
        service_id -> Int8,
        name -> Text,
        description -> Text,
        license_model -> Text,
        seats_purchased -> Nullable<Int4>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        refuse_over_seats -> Bool,
    }
}

diesel::table! {
    /// Kept by triggers on access_grants (migration 0011); read-only for the application.
    product_seat_counts (product_id) {
        product_id -> Int8,
        active_grants -> Int4,
    }
}

diesel::table! {
    service_admins (user_id, service_id) {
        user_id -> Int8,
        service_id -> Int8,
    }
}

diesel::table! {
    product_admins (user_id, product_id) {
        user_id -> Int8,
        product_id -> Int8,
    }
}

diesel::table! {
    access_grants (id) {
        id -> Int8,
        user_id -> Int8,
        product_id -> Int8,
        granted_at -> Timestamptz,
        granted_by -> Nullable<Int8>,
        account_identifier -> Text,
        note -> Text,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Int8>,
        revoke_note -> Text,
        last_active_on -> Nullable<Date>,
        usage_tier -> Nullable<Text>,
        usage_checked_at -> Nullable<Timestamptz>,
        usage_listed -> Nullable<Bool>,
    }
}

diesel::table! {
    usage_imports (id) {
        id -> Int8,
        product_id -> Int8,
        filename -> Text,
        csv_data -> Text,
        email_column -> Nullable<Text>,
        last_active_column -> Nullable<Text>,
        tier_column -> Nullable<Text>,
        date_format -> Text,
        status -> Text,
        uploaded_by -> Nullable<Int8>,
        uploaded_by_label -> Text,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        total_rows -> Int4,
        matched -> Int4,
        unmatched -> Int4,
        absent -> Int4,
    }
}

diesel::table! {
    handovers (id) {
        id -> Int8,
        workflow_id -> Int8,
        kind -> Text,
        object_id -> Int8,
        label -> Text,
        status -> Text,
        new_owner_id -> Nullable<Int8>,
        completed_by -> Nullable<Int8>,
        completed_at -> Nullable<Timestamptz>,
        note -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    imports (id) {
        id -> Int8,
        kind -> Text,
        status -> Text,
        filename -> Text,
        csv_data -> Text,
        uploaded_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        finished_at -> Nullable<Timestamptz>,
        total_rows -> Int4,
        processed_rows -> Int4,
        creates -> Int4,
        updates -> Int4,
        errors -> Jsonb,
        error_count -> Int4,
        message -> Text,
    }
}

diesel::table! {
    billing_records (id) {
        id -> Int8,
        product_id -> Int8,
        reference -> Text,
        cycle -> Text,
        amount -> Numeric,
        currency -> Bpchar,
        next_renewal_on -> Nullable<Date>,
        contract_end_on -> Nullable<Date>,
        auto_renew -> Bool,
        payment_method -> Text,
        card_brand -> Nullable<Text>,
        card_last4 -> Nullable<Text>,
        card_exp_month -> Nullable<Int2>,
        card_exp_year -> Nullable<Int2>,
        card_expires_on -> Nullable<Date>,
        billing_owner_id -> Nullable<Int8>,
        cost_center -> Text,
        notes -> Text,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        notice_value -> Nullable<Int4>,
        notice_unit -> Nullable<Text>,
        minimum_term_months -> Nullable<Int4>,
        cancellation_deadline -> Nullable<Date>,
        renewal_anchor_day -> Nullable<Int2>,
    }
}

diesel::table! {
    attachments (id) {
        id -> Int8,
        billing_record_id -> Int8,
        original_name -> Text,
        stored_name -> Text,
        content_type -> Text,
        size_bytes -> Int8,
        sha256 -> Text,
        uploaded_by -> Nullable<Int8>,
        uploaded_at -> Timestamptz,
        removed_at -> Nullable<Timestamptz>,
        removed_by -> Nullable<Int8>,
    }
}

diesel::table! {
    payments (id) {
        id -> Int8,
        billing_record_id -> Int8,
        paid_on -> Date,
        amount -> Numeric,
        currency -> Bpchar,
        invoice_ref -> Text,
        attachment_id -> Nullable<Int8>,
        recorded_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    onboarding_templates (id) {
        id -> Int8,
        name -> Text,
        department -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        maintainer_id -> Nullable<Int8>,
    }
}

diesel::table! {
    template_products (template_id, product_id) {
        template_id -> Int8,
        product_id -> Int8,
    }
}

diesel::table! {
    workflows (id) {
        id -> Int8,
        kind -> Text,
        person_id -> Int8,
        status -> Text,
        effective_on -> Date,
        template_id -> Nullable<Int8>,
        started_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        completed_at -> Nullable<Timestamptz>,
        cancelled_at -> Nullable<Timestamptz>,
        cancel_reason -> Text,
    }
}

diesel::table! {
    tasks (id) {
        id -> Int8,
        workflow_id -> Int8,
        kind -> Text,
        product_id -> Int8,
        grant_id -> Nullable<Int8>,
        status -> Text,
        due_on -> Date,
        completed_by -> Nullable<Int8>,
        completed_at -> Nullable<Timestamptz>,
        account_identifier -> Text,
        note -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        user_id -> Int8,
        kind -> Text,
        title -> Text,
        link -> Text,
        created_at -> Timestamptz,
        read_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    reminders_sent (key) {
        key -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Int8,
        to_address -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        reminder_key -> Nullable<Text>,
        created_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        sent_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        last_error -> Text,
    }
}

diesel::table! {
    job_runs (job) {
        job -> Text,
        last_started_at -> Nullable<Timestamptz>,
        last_finished_at -> Nullable<Timestamptz>,
        last_result -> Text,
        last_ok -> Bool,
    }
}

diesel::table! {
    app_settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    exchange_rates (id) {
        id -> Int8,
        currency -> Bpchar,
        rate -> Numeric,
        valid_from -> Date,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    service_accounts (id) {
        id -> Int8,
        name -> Text,
        description -> Text,
        role -> Text,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        disabled_at -> Nullable<Timestamptz>,
        disabled_by -> Nullable<Int8>,
    }
}

diesel::table! {
    service_account_services (service_account_id, service_id) {
        service_account_id -> Int8,
        service_id -> Int8,
    }
}

diesel::table! {
    service_account_products (service_account_id, product_id) {
        service_account_id -> Int8,
        product_id -> Int8,
    }
}

diesel::table! {
    scim_users (user_id) {
        user_id -> Int8,
        user_name -> Text,
        external_id -> Nullable<Text>,
        given_name -> Nullable<Text>,
        family_name -> Nullable<Text>,
        formatted_name -> Nullable<Text>,
        display_name -> Nullable<Text>,
        employee_number -> Nullable<Text>,
        emails -> Nullable<Jsonb>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
        role_before_rules -> Nullable<Text>,
        role_from_rules -> Nullable<Text>,
        start_date_sent -> Nullable<Text>,
    }
}

diesel::table! {
    provisioning_rules (id) {
        id -> Int8,
        source -> Text,
        match_value -> Text,
        template_id -> Nullable<Int8>,
        role -> Nullable<Text>,
        service_id -> Nullable<Int8>,
        product_id -> Nullable<Int8>,
        created_at -> Timestamptz,
        created_by -> Nullable<Int8>,
    }
}

diesel::table! {
    provisioning_effects (id) {
        id -> Int8,
        user_id -> Int8,
        rule_id -> Nullable<Int8>,
        rule_label -> Text,
        effect -> Text,
        workflow_id -> Nullable<Int8>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    provisioning_scopes (user_id, rule_id) {
        user_id -> Int8,
        rule_id -> Int8,
        service_id -> Nullable<Int8>,
        product_id -> Nullable<Int8>,
    }
}

diesel::table! {
    scim_groups (id) {
        id -> Int8,
        display_name -> Text,
        external_id -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        version -> Int8,
    }
}

diesel::table! {
    scim_group_members (group_id, user_id) {
        group_id -> Int8,
        user_id -> Int8,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(audit_subjects -> audit_log (audit_id));
diesel::joinable!(scim_users -> users (user_id));
diesel::joinable!(provisioning_rules -> onboarding_templates (template_id));
diesel::joinable!(provisioning_effects -> users (user_id));
diesel::joinable!(scim_group_members -> scim_groups (group_id));
diesel::joinable!(scim_group_members -> scim_users (user_id));
diesel::joinable!(api_tokens -> service_accounts (service_account_id));
diesel::joinable!(service_account_services -> service_accounts (service_account_id));
diesel::joinable!(service_account_services -> services (service_id));
diesel::joinable!(service_account_products -> service_accounts (service_account_id));
diesel::joinable!(service_account_products -> products (product_id));
diesel::table! {
    user_totp (user_id) {
        user_id -> Int8,
        secret_ciphertext -> Bytea,
        secret_nonce -> Bytea,
        created_at -> Timestamptz,
        confirmed_at -> Nullable<Timestamptz>,
        last_used_step -> Int8,
    }
}

diesel::table! {
    recovery_codes (id) {
        id -> Int8,
        user_id -> Int8,
        code_hash -> Text,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(login_links -> users (user_id));
diesel::joinable!(login_throttle -> users (user_id));
diesel::joinable!(user_totp -> users (user_id));
diesel::joinable!(recovery_codes -> users (user_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));
diesel::joinable!(products -> services (service_id));
diesel::joinable!(billing_records -> products (product_id));
diesel::joinable!(billing_records -> users (billing_owner_id));
diesel::joinable!(attachments -> billing_records (billing_record_id));
diesel::joinable!(payments -> billing_records (billing_record_id));
diesel::joinable!(template_products -> onboarding_templates (template_id));
diesel::joinable!(template_products -> products (product_id));
diesel::joinable!(tasks -> workflows (workflow_id));
diesel::joinable!(tasks -> products (product_id));
diesel::joinable!(workflows -> users (person_id));
diesel::joinable!(service_admins -> services (service_id));
diesel::joinable!(service_admins -> users (user_id));
diesel::joinable!(product_admins -> products (product_id));
diesel::joinable!(product_admins -> users (user_id));
diesel::joinable!(access_grants -> products (product_id));
diesel::joinable!(usage_imports -> products (product_id));
diesel::joinable!(identity_links -> users (user_id));
diesel::joinable!(product_seat_counts -> products (product_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_grants,
    api_tokens,
    app_settings,
    exchange_rates,
    handovers,
    identity_links,
    attachments,
    billing_records,
    audit_log,
    audit_subjects,
    email_outbox,
    auth_sessions,
    imports,
    job_runs,
    login_links,
    login_throttle,
    recovery_codes,
    notifications,
    onboarding_templates,
    payments,
    product_admins,
    product_seat_counts,
    products,
    refresh_tokens,
    reminders_sent,
    provisioning_effects,
    usage_imports,
    provisioning_rules,
    provisioning_scopes,
    scim_group_members,
    scim_groups,
    scim_users,
    service_account_products,
    service_account_services,
    service_accounts,
    service_admins,
    services,
    sso_login_states,
    tasks,
    template_products,
    untrusted_forwarders,
    user_totp,
    users,
    workflows,
);

// The register's totals group records by currency, cycle, service and cost center.
diesel::allow_columns_to_appear_in_same_group_by_clause!(
    billing_records::currency,
    billing_records::cycle,
    billing_records::cost_center,
    services::name,
);
