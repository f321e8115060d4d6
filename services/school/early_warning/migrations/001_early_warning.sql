-- Early warning: what school admin systems send, per school and student, and the risk signals
-- raised from it. None of this leaves the school's database.

-- A student as the admin system knows them, linked to the pseudonymous subject reference.
CREATE TABLE ew_students (
    school                   text NOT NULL,
    student_id               text NOT NULL,
    subject                  text NOT NULL,
    case_manager             text,
    case_manager_assigned_at timestamptz,
    PRIMARY KEY (school, student_id),
    UNIQUE (school, subject)
);

CREATE TABLE ew_attendance (
    school             text NOT NULL,
    student_id         text NOT NULL,
    day                date NOT NULL,
    scheduled_minutes  integer NOT NULL CHECK (scheduled_minutes > 0),
    absent_minutes     integer NOT NULL CHECK (absent_minutes BETWEEN 0 AND scheduled_minutes),
    PRIMARY KEY (school, student_id, day),
    FOREIGN KEY (school, student_id) REFERENCES ew_students
);

CREATE TABLE ew_grades (
    school       text NOT NULL,
    student_id   text NOT NULL,
    course_code  text NOT NULL,
    grade        text NOT NULL,
    credits      integer NOT NULL CHECK (credits > 0),
    graded_on    date NOT NULL,
    PRIMARY KEY (school, student_id, course_code),
    FOREIGN KEY (school, student_id) REFERENCES ew_students
);

CREATE TABLE ew_incidents (
    school       text NOT NULL,
    incident_id  text NOT NULL,
    student_id   text NOT NULL,
    day          date NOT NULL,
    kind         text NOT NULL,
    PRIMARY KEY (school, incident_id),
    FOREIGN KEY (school, student_id) REFERENCES ew_students
);
CREATE INDEX ew_incidents_student ON ew_incidents (school, student_id, day);

-- A school's own thresholds; schools without a row use the service's defaults.
CREATE TABLE ew_thresholds (
    school      text PRIMARY KEY,
    thresholds  jsonb NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE ew_signals (
    signal_id    uuid PRIMARY KEY,
    school       text NOT NULL,
    student_id   text NOT NULL,
    indicator    text NOT NULL,
    level        text NOT NULL,
    measures     jsonb NOT NULL,
    raised_at    timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    cleared_at   timestamptz,
    referral_id  uuid,
    FOREIGN KEY (school, student_id) REFERENCES ew_students
);
-- At most one open signal per student and indicator.
CREATE UNIQUE INDEX ew_signals_open ON ew_signals (school, student_id, indicator)
    WHERE cleared_at IS NULL;
CREATE INDEX ew_signals_school ON ew_signals (school, cleared_at, raised_at);
