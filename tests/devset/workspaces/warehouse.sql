-- Security & analytics warehouse (PostgreSQL 15), schema dump of the `analytics` database.
-- pg_dump --schema-only --no-owner --no-privileges analytics

CREATE TABLE proxy_logs (
    id          bigserial PRIMARY KEY,
    event_time  timestamp NOT NULL,
    username    text,
    src_ip      text NOT NULL,
    url         text,
    domain      text,
    action      text,            -- allowed | blocked | warned
    bytes_out   bigint,
    bytes_in    bigint,
    status      int,
    category    text,
    user_agent  text
);
COMMENT ON TABLE proxy_logs IS 'Web proxy access log, one row per request';

CREATE TABLE vpn_sessions (
    session_id      uuid PRIMARY KEY,
    started_at      timestamp NOT NULL,
    ended_at        timestamp,
    username        text NOT NULL,
    src_ip          inet,
    assigned_ip     inet,
    gateway         text,
    country         char(2),
    result          text,        -- success | failure
    failure_reason  text,
    bytes_in        bigint,
    bytes_out       bigint,
    client_version  text
);

CREATE TABLE auth_events (
    event_id      bigserial PRIMARY KEY,
    event_time    timestamp NOT NULL,
    username      text,
    src_ip        text,
    app_name      text,
    auth_method   text,          -- password | mfa_push | sso | api_key
    result        text,          -- success | failure
    failure_reason text,
    mfa_used      boolean,
    country       text,
    user_agent    text
);

CREATE TABLE web_requests (
    request_time     timestamp NOT NULL,
    host             text,
    client_ip        text,
    method           varchar(10),
    path             text,
    query_string     text,
    status_code      smallint,
    response_bytes   bigint,
    response_time_ms integer,
    user_agent       text,
    referrer         text
);

CREATE TABLE customers (
    customer_id  bigint PRIMARY KEY,
    email        text UNIQUE,
    full_name    text,
    country      text,
    segment      text,
    signup_date  date,
    is_active    boolean DEFAULT true,
    created_at   timestamp NOT NULL
);

CREATE TABLE orders (
    order_id         bigint PRIMARY KEY,
    customer_id      bigint REFERENCES customers(customer_id),
    order_date       timestamp NOT NULL,
    status           text,       -- pending | paid | shipped | refunded | cancelled
    total_amount     numeric(12,2),
    currency         char(3),
    payment_method   text,
    shipping_country text,
    coupon_code      text
);

CREATE TABLE endpoint_alerts (
    alert_id     uuid PRIMARY KEY,
    detected_at  timestamp NOT NULL,
    hostname     text,
    username     text,
    severity     text,           -- low | medium | high | critical
    rule_name    text,
    mitre_tactic text,
    file_name    text,
    file_sha256  char(64),
    process_cmdline text,
    status       text            -- new | in_progress | resolved | false_positive
);

CREATE TABLE firewall_flows (
    flow_start   timestamp NOT NULL,
    src_ip       inet,
    src_port     integer,
    dst_ip       inet,
    dst_port     integer,
    protocol     text,
    action       text,           -- allow | deny | drop
    bytes_sent   bigint,
    bytes_recv   bigint,
    rule_name    text,
    zone_src     text,
    zone_dst     text
);
