# The hosted sign-in page (/signin): crates/server/src/signin/assets/signin.{html,js}.
# Ids start with `signin-`. Variables ({ $name }) are filled by the page's script.

signin-page-title = Sign in — Tessera
signin-language = Language
signin-loading = Loading…
signin-noscript = This page needs JavaScript to sign you in.
signin-to-continue = to continue to { $app }
signin-other-options = Other options

## Identifier
signin-identifier-title = Sign in
signin-identifier-label = Username or email
signin-continue = Continue
signin-passkey-signin = Sign in with a passkey
signin-enter-identifier = Enter your username or email.

## Verify
signin-verify-title = Verify it's you
signin-signing-in-as = Signing in as
signin-password = Password
signin-sign-in = Sign in
signin-forgot-password = Forgot your password?
signin-account-locked = Account locked?
signin-code = Code
signin-verify = Verify
signin-send-new-code = Send a new code
signin-push-intro = We sent a request to your Tessera app. Type this number there to approve it:
signin-push-number = Number to type
signin-push-new = Send a new request
signin-passkey-intro = Use the passkey saved on this device or on your security key.
signin-passkey-use = Use a passkey
signin-qr-intro = Scan this code with the Tessera app and approve the sign-in there:
signin-qr-alt = QR code to scan with the Tessera app
signin-qr-new = Show a new code
signin-remember = Remember this browser
signin-other-ways = Verify another way
signin-back = Back to sign in
signin-unsupported = { $method } cannot be used on this page. Verify another way.
signin-code-totp = Code from your authenticator app
signin-code-recovery = Backup code
signin-code-recovery-hint = One of the codes you saved when you set up two-step verification.
signin-code-email = Code from the email
signin-code-sms = Code from the text message
signin-code-voice = Code read out by the call
signin-sending-code = Sending a code…
signin-code-format-digits = { $length } digits.
signin-code-format-letters = { $length } letters.
signin-code-format-alphanumeric = { $length } letters and digits.
signin-sent-email = We sent a code and a sign-in link to { $to }. It works until { $time }.
signin-sent-sms = We sent a code by text message to { $to }. It works until { $time }.
signin-sent-voice = We are calling { $to }. The code works until { $time }.
signin-continued-elsewhere = You continued signing in with the link from the email, in another tab. You can close this one.
signin-enter-password = Enter your password.
signin-enter-code = Enter the code.
signin-push-sending = Sending a request to your Tessera app…
signin-push-none = No request is waiting.
signin-waiting-approval = Waiting for your approval…
signin-push-denied = The request was refused on your device.
signin-push-expired = The request expired. Send a new one.
signin-push-over = The request is no longer valid. Send a new one.
signin-qr-none = No code is shown.
signin-qr-denied = The sign-in was refused on your device.
signin-qr-expired = The code expired. Show a new one.
signin-qr-over = The code is no longer valid. Show a new one.

## Method names
signin-method-password = Password
signin-method-push = A request to your Tessera app
signin-method-totp = A code from your authenticator app
signin-method-recovery_code = A backup code
signin-method-passkey = A passkey
signin-method-qr_login = A QR code for the Tessera app
signin-method-email = A code sent by email
signin-method-sms = A code sent by text message
signin-method-voice = A code read out by phone call

## Passkeys
signin-passkey-cancelled = The passkey request was cancelled or timed out.
signin-passkey-exists = This device already holds a passkey for your account.
signin-passkey-unusable = Your browser could not use a passkey here.

## Enrollment
signin-enroll-title = Set up two-step verification
signin-enroll-choose = Choose a second step:
signin-enroll-passkey = A passkey (your fingerprint, face, screen lock or security key)
signin-enroll-totp = An authenticator app (a 6-digit code)
signin-enroll-push = The Tessera app (approve a request)
signin-reason-required = Two-step verification is required for this account. Set up a second step to continue.
signin-reason-only_recovery_codes = You signed in with a backup code and have no other second step left. Set up a new one.
signin-reason-prompt = Protect your account: besides your password, ask for a code from your phone when you sign in.
signin-reason-min_enrollments = Add another way to verify it's you, so that losing one device does not lock you out.
signin-enroll-none = None of the methods allowed can be set up on this page.
signin-totp-scan = Scan this QR code with your authenticator app (Tessera, or any TOTP app).
signin-totp-qr-alt = QR code holding your new authenticator's secret
signin-totp-by-hand = Or enter this key by hand:
signin-totp-open = Open in an authenticator app on this device
signin-totp-code-label = Enter the 6-digit code the app shows
signin-confirm = Confirm
signin-enter-app-code = Enter the code your app shows.
signin-device-scan = Open the Tessera app on your computer or phone and scan this code:
signin-device-qr-alt = QR code to connect the Tessera app
signin-device-or = Or, on this device,
signin-device-open = open the Tessera app
signin-device-waiting = Waiting for the Tessera app…
signin-skip = Skip for now
signin-enroll-other = Choose another method

## Backup codes
signin-recovery-title = Save your backup codes
signin-recovery-intro = If you lose your device, a backup code lets you sign in. Each code works once. They are shown only now: download them or write them down, and keep them somewhere safe.
signin-recovery-download = Download (.txt)
signin-recovery-saved = I have saved these codes
signin-recovery-confirm-first = Confirm that you have saved the codes first.
signin-recovery-file-title = Tessera backup codes for { $user }
signin-recovery-file-note = Each code works once. Keep them somewhere safe.

## Done
signin-done-title = You're signed in
signin-done-as = Signed in as
signin-done-redirect = Taking you back to the application…
signin-security-title = Account security
signin-security-score = Security score:
signin-level-weak = (weak)
signin-level-fair = (fair)
signin-level-strong = (strong)
signin-suggest-add_second_factor = Add a second step: an authenticator app or the Tessera app.
signin-suggest-add_recovery_codes = Create backup codes, in case you lose your device.
signin-suggest-add_another_factor = Add another way to verify, so that one lost device does not lock you out.
signin-suggest-add_strong_factor = Add a passkey, or the Tessera app unlocked by your fingerprint or a PIN.
signin-account-link = Go to your account
signin-sign-out = Sign out
signin-signed-out-title = You're signed out
signin-signin-again = Sign in again
signin-denied-title = You can't sign in here
signin-denied-default = You cannot sign in right now. Contact your administrator if this persists.
signin-expired-title = Start again
signin-start-again = Start again
signin-unknown-step = This page does not know the step “{ $step }”.

## Password reset and unlock
signin-recover-reset-title = Reset your password
signin-recover-unlock-title = Unlock your account
signin-recover-intro = We will email you a code and a link.
signin-recover-username = Username
signin-recover-send = Send the email
signin-recover-code = Code from the email
signin-recover-new-password = New password
signin-recover-reset-submit = Reset the password
signin-recover-unlock-submit = Unlock my account
signin-recover-link-opened = You opened the link from the email.
signin-recover-enter-username = Enter your username.
signin-recover-sent-digits = If this account has an email address, we sent it a code of { $length } digits and a link. Both work once.
signin-recover-sent-letters = If this account has an email address, we sent it a code of { $length } letters and a link. Both work once.
signin-recover-sent-alphanumeric = If this account has an email address, we sent it a code of { $length } letters and digits and a link. Both work once.
signin-recover-enter-code = Enter the code from the email.
signin-recover-short-password = The new password needs at least 8 characters.
signin-recover-reset-done = Your password is changed, and every session was signed out. Sign in with the new password.
signin-recover-unlock-done = Your account is unlocked. Sign in again.
