# ホスト型サインインページ (/signin) の文言。英語版 locales/en/signin.ftl と同じ ID を持つこと。

signin-page-title = サインイン — Tessera
signin-language = 言語
signin-loading = 読み込み中…
signin-noscript = サインインするには JavaScript を有効にしてください。
signin-to-continue = { $app } を続行するには
signin-other-options = その他のオプション

## Identifier
signin-identifier-title = サインイン
signin-identifier-label = ユーザー名またはメールアドレス
signin-continue = 次へ
signin-passkey-signin = パスキーでサインイン
signin-enter-identifier = ユーザー名またはメールアドレスを入力してください。

## Verify
signin-verify-title = 本人確認
signin-signing-in-as = サインイン中のアカウント:
signin-password = パスワード
signin-sign-in = サインイン
signin-forgot-password = パスワードをお忘れですか?
signin-account-locked = アカウントがロックされましたか?
signin-code = コード
signin-verify = 確認
signin-send-new-code = 新しいコードを送信
signin-push-intro = Tessera アプリにリクエストを送信しました。承認するには、アプリでこの番号を入力してください:
signin-push-number = 入力する番号
signin-push-new = リクエストを再送信
signin-passkey-intro = このデバイスまたはセキュリティキーに保存されたパスキーを使用します。
signin-passkey-use = パスキーを使用
signin-qr-intro = Tessera アプリでこのコードをスキャンし、アプリでサインインを承認してください:
signin-qr-alt = Tessera アプリでスキャンする QR コード
signin-qr-new = 新しいコードを表示
signin-remember = このブラウザを記憶する
signin-other-ways = 別の方法で確認
signin-back = サインインに戻る
signin-unsupported = このページでは「{ $method }」を使用できません。別の方法で確認してください。
signin-code-totp = 認証アプリに表示されたコード
signin-code-recovery = バックアップコード
signin-code-recovery-hint = 2 段階認証の設定時に保存したコードのいずれか 1 つ。
signin-code-email = メールに記載されたコード
signin-code-sms = SMS で届いたコード
signin-code-voice = 音声通話で読み上げられたコード
signin-sending-code = コードを送信しています…
signin-code-format-digits = { $length } 桁の数字
signin-code-format-letters = { $length } 文字の英字
signin-code-format-alphanumeric = { $length } 文字の英数字
signin-sent-email = { $to } にコードとサインイン用リンクを送信しました。{ $time } まで有効です。
signin-sent-sms = { $to } に SMS でコードを送信しました。{ $time } まで有効です。
signin-sent-voice = { $to } に電話をかけています。コードは { $time } まで有効です。
signin-continued-elsewhere = メールのリンクから別のタブでサインインを続行しました。このタブは閉じてかまいません。
signin-enter-password = パスワードを入力してください。
signin-enter-code = コードを入力してください。
signin-push-sending = Tessera アプリにリクエストを送信しています…
signin-push-none = 待機中のリクエストはありません。
signin-waiting-approval = 承認を待っています…
signin-push-denied = デバイスでリクエストが拒否されました。
signin-push-expired = リクエストの有効期限が切れました。もう一度送信してください。
signin-push-over = このリクエストは無効になりました。もう一度送信してください。
signin-qr-none = 表示中のコードはありません。
signin-qr-denied = デバイスでサインインが拒否されました。
signin-qr-expired = コードの有効期限が切れました。新しいコードを表示してください。
signin-qr-over = このコードは無効になりました。新しいコードを表示してください。

## Method names
signin-method-password = パスワード
signin-method-push = Tessera アプリへのリクエスト
signin-method-totp = 認証アプリのコード
signin-method-recovery_code = バックアップコード
signin-method-passkey = パスキー
signin-method-qr_login = Tessera アプリ用の QR コード
signin-method-email = メールで届くコード
signin-method-sms = SMS で届くコード
signin-method-voice = 音声通話で読み上げられるコード

## Passkeys
signin-passkey-cancelled = パスキーの操作がキャンセルされたか、タイムアウトしました。
signin-passkey-exists = このデバイスには、このアカウントのパスキーがすでに保存されています。
signin-passkey-unusable = このブラウザではパスキーを使用できませんでした。

## Enrollment
signin-enroll-title = 2 段階認証の設定
signin-enroll-choose = 2 つ目の確認方法を選んでください:
signin-enroll-passkey = パスキー(指紋、顔認証、画面ロック、セキュリティキー)
signin-enroll-totp = 認証アプリ(6 桁のコード)
signin-enroll-push = Tessera アプリ(リクエストを承認)
signin-reason-required = このアカウントには 2 段階認証が必要です。続行するには 2 つ目の確認方法を設定してください。
signin-reason-only_recovery_codes = バックアップコードでサインインしたため、ほかに使える確認方法がありません。新しい確認方法を設定してください。
signin-reason-prompt = アカウントを保護しましょう。サインイン時に、パスワードに加えてスマートフォンのコードを確認します。
signin-reason-min_enrollments = デバイスを 1 台なくしてもサインインできるよう、別の確認方法を追加してください。
signin-enroll-none = 許可されている方法は、いずれもこのページでは設定できません。
signin-totp-scan = 認証アプリ(Tessera または任意の TOTP アプリ)でこの QR コードをスキャンしてください。
signin-totp-qr-alt = 新しい認証アプリのシークレットを含む QR コード
signin-totp-by-hand = または、このキーを手動で入力してください:
signin-totp-open = このデバイスの認証アプリで開く
signin-totp-code-label = アプリに表示された 6 桁のコードを入力
signin-confirm = 確認
signin-enter-app-code = アプリに表示されたコードを入力してください。
signin-device-scan = パソコンまたはスマートフォンで Tessera アプリを開き、このコードをスキャンしてください:
signin-device-qr-alt = Tessera アプリを接続するための QR コード
signin-device-or = または、このデバイスで
signin-device-open = Tessera アプリを開く
signin-device-waiting = Tessera アプリからの接続を待っています…
signin-skip = 後で設定する
signin-enroll-other = 別の方法を選ぶ

## Backup codes
signin-recovery-title = バックアップコードを保存してください
signin-recovery-intro = デバイスをなくしたときは、バックアップコードでサインインできます。各コードは 1 回だけ使用できます。コードが表示されるのは今だけです。ダウンロードするか書き留めて、安全な場所に保管してください。
signin-recovery-download = ダウンロード(.txt)
signin-recovery-saved = コードを保存しました
signin-recovery-confirm-first = 先にコードを保存したことを確認してください。
signin-recovery-file-title = { $user } の Tessera バックアップコード
signin-recovery-file-note = 各コードは 1 回だけ使用できます。安全な場所に保管してください。

## Done
signin-done-title = サインインしました
signin-done-as = サインイン中のアカウント:
signin-done-redirect = アプリケーションに戻っています…
signin-security-title = アカウントのセキュリティ
signin-security-score = セキュリティスコア:
signin-level-weak = (弱い)
signin-level-fair = (普通)
signin-level-strong = (強い)
signin-suggest-add_second_factor = 2 つ目の確認方法(認証アプリまたは Tessera アプリ)を追加しましょう。
signin-suggest-add_recovery_codes = デバイスをなくしたときのために、バックアップコードを作成しましょう。
signin-suggest-add_another_factor = デバイスを 1 台なくしてもサインインできるよう、別の確認方法を追加しましょう。
signin-suggest-add_strong_factor = パスキー、または指紋や PIN でロック解除する Tessera アプリを追加しましょう。
signin-account-link = アカウント管理へ
signin-sign-out = サインアウト
signin-signed-out-title = サインアウトしました
signin-signin-again = もう一度サインイン
signin-denied-title = ここではサインインできません
signin-denied-default = 現在サインインできません。解決しない場合は管理者にお問い合わせください。
signin-expired-title = 最初からやり直してください
signin-start-again = 最初からやり直す
signin-unknown-step = このページは「{ $step }」という手順に対応していません。

## Password reset and unlock
signin-recover-reset-title = パスワードの再設定
signin-recover-unlock-title = アカウントのロック解除
signin-recover-intro = コードとリンクをメールでお送りします。
signin-recover-username = ユーザー名
signin-recover-send = メールを送信
signin-recover-code = メールに記載されたコード
signin-recover-new-password = 新しいパスワード
signin-recover-reset-submit = パスワードを再設定
signin-recover-unlock-submit = ロックを解除
signin-recover-link-opened = メールのリンクを開きました。
signin-recover-enter-username = ユーザー名を入力してください。
signin-recover-sent-digits = このアカウントにメールアドレスが登録されていれば、{ $length } 桁の数字のコードとリンクを送信しました。どちらも 1 回だけ使用できます。
signin-recover-sent-letters = このアカウントにメールアドレスが登録されていれば、{ $length } 文字の英字のコードとリンクを送信しました。どちらも 1 回だけ使用できます。
signin-recover-sent-alphanumeric = このアカウントにメールアドレスが登録されていれば、{ $length } 文字の英数字のコードとリンクを送信しました。どちらも 1 回だけ使用できます。
signin-recover-enter-code = メールに記載されたコードを入力してください。
signin-recover-short-password = 新しいパスワードは 8 文字以上にしてください。
signin-recover-reset-done = パスワードを変更し、すべてのセッションからサインアウトしました。新しいパスワードでサインインしてください。
signin-recover-unlock-done = アカウントのロックを解除しました。もう一度サインインしてください。
