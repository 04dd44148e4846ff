# メール・SMS・音声通話で送るコードと通知、マジックリンクが開くページの文言。

mail-subject-signin = Tessera サインイン確認コード
mail-subject-reset = Tessera パスワードの再設定
mail-subject-unlock = Tessera アカウントのロック解除
mail-subject-verify = Tessera メールアドレスの確認
mail-greeting = { $user } 様
mail-intro-signin = Tessera にサインインするための確認コードです:
mail-intro-reset = Tessera のパスワードを再設定するための確認コードです:
mail-intro-unlock = Tessera アカウントのロックを解除するための確認コードです:
mail-intro-verify = このメールアドレスを Tessera アカウントで確認するための確認コードです:
mail-link-intro = または、コードを要求したブラウザーで次のリンクを開いてください:
mail-outro = コードとリンクの有効期限は { $minutes } 分で、一度だけ使用できます。心当たりがない場合は、このメールを無視し、管理者に連絡してください。
mail-sms-code = Tessera の確認コード: { $code }（有効期限 { $minutes } 分）。他人に教えないでください。
mail-voice-code = Tessera の確認コードは { $spelled } です。繰り返します。{ $spelled }。

## Notices of changes (IBM-3)
mail-notice-subject = Tessera のサインイン方法が変更されました
mail-notice-added = アカウントにサインイン方法が追加されました: { $what }。
mail-notice-removed = アカウントからサインイン方法が削除されました: { $what }。
mail-notice-codes = 新しいバックアップコードが作成されました。以前のコードは使用できません。
mail-notice-when = 日時: { $at }（UTC）
mail-notice-not-you = 心当たりがない場合は、すぐに管理者に連絡してください。
mail-method-otp = 認証アプリ
mail-method-email = メールによるコード
mail-method-sms = SMS によるコード
mail-method-voice = 音声通話によるコード
mail-method-push = Tessera アプリ
mail-method-passkey = パスキー
mail-method-other = サインイン方法

## The pages a magic link opens
mail-page-other-browser-title = 確認コードを入力してください
mail-page-other-browser-text = このリンクは、サインイン中のブラウザーとは別のブラウザーで開かれました。サインイン中のブラウザーに戻り、メールに記載された確認コードを入力してください。
mail-page-other-browser-link = このブラウザーで新しくサインインする
mail-page-gone-title = このリンクは使用できません
mail-page-gone-text = リンクの有効期限が切れたか、すでに使用されたか、新しいメールで置き換えられました。もう一度サインインしてください。
mail-page-gone-link = もう一度サインインする
mail-page-confirmed-title = メールアドレスを確認しました
mail-page-confirmed-text = このアドレスがアカウントのメールアドレスになりました。
mail-page-confirmed-link = アカウントに戻る
mail-page-unconfirmed-text = リンクの有効期限が切れたか、すでに使用されました。
