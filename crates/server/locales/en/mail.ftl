# Codes and notices sent by email, SMS and voice (crates/server/src/oob/messages.rs), and the
# pages a magic link opens (crates/server/src/signin/api.rs). Ids start with `mail-`.

mail-subject-signin = Your Tessera sign-in code
mail-subject-reset = Reset your Tessera password
mail-subject-unlock = Unlock your Tessera account
mail-subject-verify = Confirm your email address for Tessera
mail-greeting = Hello { $user },
mail-intro-signin = Your code to sign in to Tessera is:
mail-intro-reset = Your code to reset your Tessera password is:
mail-intro-unlock = Your code to unlock your Tessera account is:
mail-intro-verify = Your code to confirm this address for your Tessera account is:
mail-link-intro = Or open this link in the browser where you asked for it:
mail-outro = The code and the link expire in { $minutes } minutes and work once. If you did not ask for this, ignore this email, and tell your administrator.
mail-sms-code = Your Tessera code is { $code }. It expires in { $minutes } min. Never share it.
mail-voice-code = Your Tessera code is: { $spelled }. Again: { $spelled }.

## Notices of changes (IBM-3)
mail-notice-subject = A change to how you sign in to Tessera
mail-notice-added = A sign-in method was added to your account: { $what }.
mail-notice-removed = A sign-in method was removed from your account: { $what }.
mail-notice-codes = New backup codes were created for your account; the old ones no longer work.
mail-notice-when = When: { $at } (UTC)
mail-notice-not-you = If this was not you, tell your administrator at once.
mail-method-otp = an authenticator app
mail-method-email = email codes
mail-method-sms = text-message codes
mail-method-voice = voice-call codes
mail-method-push = the Tessera app
mail-method-passkey = a passkey
mail-method-other = a sign-in method

## The pages a magic link opens
mail-page-other-browser-title = Use the code instead
mail-page-other-browser-text = This link was opened in another browser than the one where you are signing in. Go back to that browser and type the code from the email.
mail-page-other-browser-link = Start a new sign-in here
mail-page-gone-title = This link can no longer be used
mail-page-gone-text = The link has expired, was already used, or a newer email replaced it. Sign in again.
mail-page-gone-link = Sign in again
mail-page-confirmed-title = Your email address is confirmed
mail-page-confirmed-text = This address is now your account's email address.
mail-page-confirmed-link = Back to your account
mail-page-unconfirmed-text = The link has expired or was already used.
