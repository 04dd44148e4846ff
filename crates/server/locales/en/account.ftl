# The account center (/account). Ids start with `account-`; the Japanese file has the same ids.
# Codes from the server (authenticator types, score levels, suggestions, audit events) are the
# end of an id: `account-type-otp`, `account-act-signin_ok` (dots become `_`).

account-page-title = Your account — Tessera
account-title = Your account
account-signed-in-as = Signed in as
account-language = Language
account-cancel = Cancel
account-close = Close
account-confirm = Confirm

## Security
account-security-title = Security
account-score-label = Security score
account-mfa-on = Two-step sign-in is on.
account-mfa-off = Two-step sign-in is off: add an authenticator app to protect your account.
account-mfa-required = Your organization requires two-step sign-in.
account-level-weak = weak
account-level-fair = fair
account-level-strong = strong
account-sugg-add_second_factor = Add a second factor, such as an authenticator app.
account-sugg-add_recovery_codes = Get backup codes, in case you lose your phone.
account-sugg-add_another_factor = Add another method, so you are not locked out if you lose one.
account-sugg-add_strong_factor = Add a passkey, or a device unlocked by a PIN or biometric.

## Step-up
account-stepup-title = Confirm it is you
account-stepup-label = Code from your authenticator app, or a backup code
account-stepup-done = Confirmed. You can make changes for the next { $minutes } minutes.
account-stepup-other = No code at hand? Sign out and sign in again, then come back within { $minutes } minutes.

## Sign-in methods
account-methods-title = Sign-in methods
account-methods-empty = No second factor yet.
account-type-otp = Authenticator app
account-type-recovery_code = Backup codes
account-type-oob = Device or code by message
account-type-passkey = Passkey
account-type-push = Tessera app
account-type-email = Email
account-type-sms = Text message (SMS)
account-type-voice = Voice call
account-not-confirmed = not confirmed
account-added = Added { $date }
account-last-used = last used { $date }
account-never-used = never used
account-remove = Remove
account-remove-named = Remove { $what }
account-remove-last = This is your last second factor. After removing it you sign in with your password alone, and your account is much easier to take over.
account-remove-codes = Your backup codes will stop working. You can get new ones at any time.
account-remove-other = You will no longer be able to sign in with this method. Your other methods keep working.
account-remove-done = The method was removed.
account-totp-add = Add an authenticator app
account-totp-scan = Scan this QR code with your authenticator app, or type the key.
account-totp-key = Key
account-totp-code = Code from the app
account-totp-qr-alt = QR code for your authenticator app
account-totp-done = The authenticator app is added.
account-totp-enter = Enter the code the app shows.
account-passkey-add = Add a passkey
account-passkey-done = The passkey is added.
account-passkey-cancelled = The passkey was not created: the request was cancelled or timed out.
account-passkey-exists = This device already holds a passkey for your account.
account-passkey-failed = Your browser could not create a passkey here.
account-device-add = Set up the Tessera desktop app
account-device-scan = In the Tessera desktop app, choose to add this account and scan this QR code, or open the link on the computer where the app is installed.
account-device-qr-alt = QR code to set up the Tessera desktop app
account-device-link = Open in the Tessera app
account-device-waiting = Waiting for your device… This QR code works for { $minutes } minutes.
account-device-done = { $name } is set up. It can now approve your sign-ins.
account-device-expired = This QR code has expired.
account-device-again = Show a new QR code

## Email and phone
account-contact-title = Email and phone
account-contact-email = Email address
account-contact-phone = Phone number
account-contact-none = None
account-email-add = Add an email address
account-email-change = Change your email address
account-phone-add = Add a phone number
account-phone-change = Change your phone number
account-contact-new-email = New email address
account-contact-new-phone = New phone number (with the country code, such as +81 90 1234 5678)
account-contact-by = Send the code by
account-by-sms = Text message (SMS)
account-by-voice = Voice call
account-contact-send = Send a code
account-contact-sent = We sent a code to { $to }. Type it here, or open the link in the email.
account-contact-sent-phone = We sent a code to { $to }. Type it here.
account-contact-code = Code
account-contact-resend = Send a new code
account-contact-enter-value = Enter the address or number.
account-contact-enter-code = Enter the code you received.
account-contact-done-email = Your email address is now { $value }.
account-contact-done-phone = Your phone number is now { $value }.
account-contact-resume = Enter the code
account-contact-resume-named = Enter the code sent to { $what }

## Backup codes
account-codes-title = Backup codes
account-codes-text = Each backup code signs you in once when you cannot use your other methods.
account-codes-regenerate = Get new backup codes
account-codes-once = Your new codes. They are shown only now; your old codes no longer work.
account-codes-download = Download as a text file
account-codes-saved = I saved these codes
account-codes-done = Done
account-codes-file-head = Tessera backup codes for { $user }. Each works once.

## Sessions
account-sessions-title = Where you are signed in
account-sessions-end-others = Sign out everywhere else
account-this-browser = this browser
account-session-since = Since { $date }, from { $ip }
account-browser-on = { $browser } on { $os }
account-end-session = Sign out
account-end-session-named = Sign out the session in { $what }
account-sessions-ended = Other sessions signed out: { $n }.
account-session-ended = That session is signed out.
account-unknown-browser = Unknown browser

## Recent activity (audit event types)
account-activity-title = Recent activity
account-activity-empty = Nothing yet.
account-act-other = Other activity
account-act-signin_ok = Signed in
account-act-signin_denied = Sign-in refused
account-act-enroll = Method set up
account-act-confirm = Method confirmed
account-act-delete = Method removed
account-act-delete_all = All methods removed
account-act-regenerate = New backup codes
account-act-verify_ok = Code accepted
account-act-verify_fail = Wrong code
account-act-verify_refused = Code refused
account-act-lockout = Locked after failed attempts
account-act-password_fail = Wrong password
account-act-password_reset = Password reset
account-act-unlock_self = Account unlocked
account-act-session_ended = Signed out
account-act-oob_sent = Code sent
account-act-oob_used = Code used
account-act-oob_limited = Too many codes asked for
account-act-contact_enrolled = Email or phone added
account-act-contact_removed = Email or phone removed
account-act-passkey_refused = Passkey refused
account-act-passkey_cloned = Copied passkey refused
account-act-device_enrolled = Device set up
account-act-device_removed = Device removed
account-act-device_offer_created = Device set-up started
account-act-push_created = Request sent to the Tessera app
account-act-push_approved = Request approved
account-act-push_denied = Request denied
account-act-push_consumed = Request used
account-act-qr_login_approved = QR sign-in approved
account-act-qr_login_redeemed = Signed in by QR code
account-act-account_step_up = Identity confirmed
account-act-mfa_prompt_skipped = Set-up skipped
account-act-mfa_prompt_reset = Set-up prompt reset

## Notices and language
account-notify-title = Notices of changes
account-notify-channels = Tell me about changes to my sign-in methods by
account-notify-locale = Language of the notices
account-notify-save = Save
account-notify-denied = Your administrator chose how you are told; it cannot be changed here.
account-notify-keep-one = Your administrator asks you to keep at least one channel.
account-notify-saved = Saved.
account-ch-none = No notice
account-ch-email = Email
account-ch-sms = SMS
account-ch-any = The first channel I have
account-ch-all = Every channel I have
account-sign-out = Sign out
