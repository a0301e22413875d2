// @generated automatically by Diesel CLI (kept in step with migrations/ by hand).

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
    login_throttle (key) {
        key -> Text,
        failures -> Int4,
        window_start -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
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

diesel::joinable!(auth_sessions -> users (user_id));
diesel::joinable!(refresh_tokens -> auth_sessions (session_id));
diesel::joinable!(products -> services (service_id));
diesel::joinable!(service_admins -> services (service_id));
diesel::joinable!(service_admins -> users (user_id));
diesel::joinable!(product_admins -> products (product_id));
diesel::joinable!(product_admins -> users (user_id));
diesel::joinable!(access_grants -> products (product_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_grants,
    audit_log,
    auth_sessions,
    imports,
    login_throttle,
    product_admins,
    products,
    refresh_tokens,
    service_admins,
    services,
    users,
);
