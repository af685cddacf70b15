-- forestall schema, version 4: the MCP server registry (docs/mcp.md). Which remote tool servers
-- forestall knows, how to reach them and how far to trust them, and the pinned definition of
-- every tool they offered. Times are milliseconds. Secrets are never stored: env and headers
-- hold references ({"env": "FORESTALL_X"} or {"file": "/path"}), resolved when used.

CREATE TABLE mcp_servers (
    name            TEXT    PRIMARY KEY
                    CHECK (length(name) BETWEEN 1 AND 63 AND name GLOB '[a-z0-9]*'
                           AND name NOT GLOB '*[^a-z0-9_-]*'),
    transport       TEXT    NOT NULL CHECK (transport IN ('stdio', 'http')),
    command         TEXT,                       -- stdio: the program (argv[0])
    args            TEXT    NOT NULL DEFAULT '[]', -- stdio: JSON array of strings
    env             TEXT    NOT NULL DEFAULT '{}', -- stdio: JSON object NAME -> secret reference
    url             TEXT,                       -- http: the Streamable HTTP endpoint
    headers         TEXT    NOT NULL DEFAULT '{}', -- http: JSON object NAME -> text | reference
    enabled         INTEGER NOT NULL DEFAULT 1,
    trust           TEXT    NOT NULL DEFAULT 'none'
                    CHECK (trust IN ('none', 'read_only_hints', 'listed')),
    read_only_tools TEXT    NOT NULL DEFAULT '[]', -- trust listed: JSON array of tool names
    tool_mappings   TEXT    NOT NULL DEFAULT '{}', -- JSON object: catalog action -> remote tool
    source          TEXT    NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'config')),
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    CHECK ((transport = 'stdio' AND command IS NOT NULL AND url IS NULL) OR
           (transport = 'http' AND url IS NOT NULL AND command IS NULL))
);

-- Every tool a server offered, pinned by the SHA-256 of its canonical definition. A listing
-- whose definition hashes differently marks the pin changed (audited): the tool is not used
-- until a person approves the new definition. new: seen, never approved.
CREATE TABLE mcp_tool_pins (
    server          TEXT    NOT NULL REFERENCES mcp_servers (name),
    tool            TEXT    NOT NULL,
    sha256          TEXT    NOT NULL,           -- of the definition last seen
    status          TEXT    NOT NULL CHECK (status IN ('approved', 'changed', 'new')),
    first_seen      INTEGER NOT NULL,
    last_seen       INTEGER NOT NULL,
    approved_by     TEXT,
    approved_at     INTEGER,
    approved_sha256 TEXT,                       -- the definition that was approved
    definition      TEXT    NOT NULL,           -- JSON: the tool as listed (canonical)
    PRIMARY KEY (server, tool)
);
