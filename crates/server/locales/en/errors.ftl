# Error messages shown to people, by the API's `error` code (`error-<code>`), for the pages.
# English pages show the server's own `error_description` when it has one (it names the field);
# other languages show these.

error-generic = Something went wrong. Try again.
error-network = The server cannot be reached. Check your connection and try again.
error-http = The server answered { $status }.
error-invalid_request = Check what you entered: something is missing or not in the expected form.
error-invalid_token = Your sign-in has ended. Sign in again.
error-unauthorized = Your sign-in has ended. Sign in again.
error-insufficient_scope = You are not allowed to do this.
error-access_denied = You are not allowed to do this.
error-not_found = This no longer exists.
error-conflict = This already exists, or it was changed meanwhile. Reload and try again.
error-invalid_grant = That did not work. Check it and try again.
error-mfa_required = A second step is needed.
error-unsupported_grant_type = This way of signing in is not supported.
error-too_many_attempts = Too many wrong tries. Wait a moment before trying again.
error-too_many_requests = Too many requests. Wait a few minutes before trying again.
error-passkey_refused = The passkey was not accepted.
error-passkey_cloned = This passkey looks copied: it was refused. Contact your administrator.
error-flow_not_found = This sign-in no longer exists. Start again.
error-flow_expired = This sign-in took too long and has expired. Start again.
error-flow_other_browser = This sign-in was started in another browser. Start again here.
error-flow_finished = This sign-in is already finished. Start again.
error-wrong_step = This sign-in moved on in another tab.
error-invalid_credentials = That is not right. Check it and try again.
error-rejected = The request was refused.
error-expired = This has expired. Ask for a new one.
error-authorization_pending = Still waiting for the approval.
error-temporarily_unavailable = The service is busy. Try again in a moment.
error-server_error = Something went wrong on the server. Try again later.
error-csrf_failed = This page is out of date. Reload it and try again.
error-step_up_required = Confirm it is you: enter a code from your authenticator app or a backup code.
error-user_blocked = This account is locked. Contact your administrator.
