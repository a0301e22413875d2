-- wrk script for bench/run.py's login storm: every request is a complete, successful
-- sign-in (CSRF token and its session cookie fetched once by run.py, passed in the
-- environment), so each one costs a full argon2id verification and a session write.
wrk.method = "POST"
wrk.body = os.getenv("PORTALOPS_LOGIN_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("PORTALOPS_LOGIN_COOKIE")
