# アカウント管理ページ (/account) の文言。英語版 locales/en/account.ftl と同じ ID を持つこと。
# サーバーのコード(認証方法の種類、スコアの水準、提案、監査イベント)は ID の末尾になる。

account-page-title = アカウント — Tessera
account-title = アカウント
account-signed-in-as = サインイン中のアカウント:
account-language = 言語
account-cancel = キャンセル
account-close = 閉じる
account-confirm = 確認

## セキュリティ
account-security-title = セキュリティ
account-score-label = セキュリティスコア
account-mfa-on = 2 段階認証は有効です。
account-mfa-off = 2 段階認証は無効です。認証アプリを追加してアカウントを保護しましょう。
account-mfa-required = 組織の設定により、2 段階認証が必要です。
account-level-weak = 弱い
account-level-fair = 普通
account-level-strong = 強い
account-sugg-add_second_factor = 認証アプリなど、2 つ目の確認方法を追加しましょう。
account-sugg-add_recovery_codes = スマートフォンをなくしたときのために、バックアップコードを作成しましょう。
account-sugg-add_another_factor = 1 つなくしてもサインインできるよう、別の確認方法を追加しましょう。
account-sugg-add_strong_factor = パスキー、または PIN や生体認証でロック解除するデバイスを追加しましょう。

## 本人確認
account-stepup-title = 本人確認
account-stepup-label = 認証アプリのコード、またはバックアップコード
account-stepup-done = 確認しました。これから { $minutes } 分間、設定を変更できます。
account-stepup-other = コードがお手元にない場合は、いったんサインアウトしてもう一度サインインし、{ $minutes } 分以内にこのページに戻ってください。

## サインイン方法
account-methods-title = サインイン方法
account-methods-empty = 2 つ目の確認方法はまだありません。
account-type-otp = 認証アプリ
account-type-recovery_code = バックアップコード
account-type-oob = デバイスまたはメッセージで届くコード
account-type-passkey = パスキー
account-type-push = Tessera アプリ
account-type-email = メール
account-type-sms = SMS(ショートメッセージ)
account-type-voice = 音声通話
account-not-confirmed = 未確認
account-added = 追加日時: { $date }
account-last-used = 最終使用: { $date }
account-never-used = 未使用
account-remove = 削除
account-remove-named = { $what } を削除
account-remove-last = これは最後の 2 つ目の確認方法です。削除すると、パスワードだけでサインインすることになり、アカウントが乗っ取られやすくなります。
account-remove-codes = バックアップコードは使えなくなります。新しいコードはいつでも作成できます。
account-remove-other = この方法ではサインインできなくなります。ほかの確認方法は引き続き使えます。
account-remove-done = 確認方法を削除しました。
account-totp-add = 認証アプリを追加
account-totp-scan = 認証アプリでこの QR コードをスキャンするか、キーを入力してください。
account-totp-key = キー
account-totp-code = アプリに表示されたコード
account-totp-qr-alt = 認証アプリ用の QR コード
account-totp-done = 認証アプリを追加しました。
account-totp-enter = アプリに表示されたコードを入力してください。
account-passkey-add = パスキーを追加
account-passkey-done = パスキーを追加しました。
account-passkey-cancelled = パスキーは作成されませんでした。操作がキャンセルされたか、タイムアウトしました。
account-passkey-exists = このデバイスには、このアカウントのパスキーがすでに保存されています。
account-passkey-failed = このブラウザではパスキーを作成できませんでした。
account-device-add = Tessera デスクトップアプリを設定
account-device-scan = Tessera デスクトップアプリでこのアカウントの追加を選び、この QR コードをスキャンしてください。アプリをインストールしたパソコンでリンクを開いてもかまいません。
account-device-qr-alt = Tessera デスクトップアプリを設定するための QR コード
account-device-link = Tessera アプリで開く
account-device-waiting = デバイスからの接続を待っています… この QR コードは { $minutes } 分間有効です。
account-device-done = { $name } を設定しました。今後はこのデバイスでサインインを承認できます。
account-device-expired = この QR コードの有効期限が切れました。
account-device-again = 新しい QR コードを表示

## メールアドレスと電話番号
account-contact-title = メールアドレスと電話番号
account-contact-email = メールアドレス
account-contact-phone = 電話番号
account-contact-none = 未登録
account-email-add = メールアドレスを追加
account-email-change = メールアドレスを変更
account-phone-add = 電話番号を追加
account-phone-change = 電話番号を変更
account-contact-new-email = 新しいメールアドレス
account-contact-new-phone = 新しい電話番号(+81 90 1234 5678 のように国番号から)
account-contact-by = コードの受け取り方法
account-by-sms = SMS(ショートメッセージ)
account-by-voice = 音声通話
account-contact-send = コードを送信
account-contact-sent = { $to } にコードを送信しました。ここにコードを入力するか、メールに記載されたリンクを開いてください。
account-contact-sent-phone = { $to } にコードを送信しました。ここにコードを入力してください。
account-contact-code = コード
account-contact-resend = 新しいコードを送信
account-contact-enter-value = メールアドレスまたは電話番号を入力してください。
account-contact-enter-code = 受け取ったコードを入力してください。
account-contact-done-email = メールアドレスを { $value } に変更しました。
account-contact-done-phone = 電話番号を { $value } に変更しました。
account-contact-resume = コードを入力
account-contact-resume-named = { $what } に送信したコードを入力

## バックアップコード
account-codes-title = バックアップコード
account-codes-text = ほかの確認方法が使えないとき、バックアップコードで 1 回サインインできます。
account-codes-regenerate = 新しいバックアップコードを作成
account-codes-once = 新しいコードです。表示されるのは今だけです。以前のコードは使えなくなりました。
account-codes-download = テキストファイルでダウンロード
account-codes-saved = コードを保存しました
account-codes-done = 完了
account-codes-file-head = { $user } の Tessera バックアップコード。各コードは 1 回だけ使用できます。

## サインイン中の端末
account-sessions-title = サインイン中の端末
account-sessions-end-others = ほかのすべての端末からサインアウト
account-this-browser = このブラウザ
account-session-since = { $date } から、{ $ip }
account-browser-on = { $os } の { $browser }
account-end-session = サインアウト
account-end-session-named = { $what } のセッションからサインアウト
account-sessions-ended = ほかのセッションからサインアウトしました: { $n } 件。
account-session-ended = そのセッションからサインアウトしました。
account-unknown-browser = 不明なブラウザ

## 最近のアクティビティ(監査イベント)
account-activity-title = 最近のアクティビティ
account-activity-empty = まだありません。
account-act-other = その他のアクティビティ
account-act-signin_ok = サインイン
account-act-signin_denied = サインインの拒否
account-act-enroll = 確認方法の設定
account-act-confirm = 確認方法の確認
account-act-delete = 確認方法の削除
account-act-delete_all = すべての確認方法の削除
account-act-regenerate = 新しいバックアップコード
account-act-verify_ok = コードの承認
account-act-verify_fail = 誤ったコード
account-act-verify_refused = コードの拒否
account-act-lockout = 失敗が続いたためのロック
account-act-password_fail = 誤ったパスワード
account-act-password_reset = パスワードの再設定
account-act-unlock_self = アカウントのロック解除
account-act-session_ended = サインアウト
account-act-oob_sent = コードの送信
account-act-oob_used = コードの使用
account-act-oob_limited = コード送信の上限
account-act-contact_enrolled = メールアドレスまたは電話番号の追加
account-act-contact_removed = メールアドレスまたは電話番号の削除
account-act-passkey_refused = パスキーの拒否
account-act-passkey_cloned = 複製されたパスキーの拒否
account-act-device_enrolled = デバイスの設定
account-act-device_removed = デバイスの削除
account-act-device_offer_created = デバイス設定の開始
account-act-push_created = Tessera アプリへのリクエスト
account-act-push_approved = リクエストの承認
account-act-push_denied = リクエストの拒否
account-act-push_consumed = リクエストの使用
account-act-qr_login_approved = QR コードによるサインインの承認
account-act-qr_login_redeemed = QR コードによるサインイン
account-act-account_step_up = 本人確認
account-act-mfa_prompt_skipped = 設定のスキップ
account-act-mfa_prompt_reset = 設定の案内のリセット

## 通知と言語
account-notify-title = 変更の通知
account-notify-channels = サインイン方法が変更されたときの通知方法
account-notify-locale = 通知の言語
account-notify-save = 保存
account-notify-denied = 通知方法は管理者が設定しているため、ここでは変更できません。
account-notify-keep-one = 管理者の設定により、通知方法を 1 つ以上残す必要があります。
account-notify-saved = 保存しました。
account-ch-none = 通知しない
account-ch-email = メール
account-ch-sms = SMS
account-ch-any = 利用できる最初の方法
account-ch-all = 利用できるすべての方法
account-sign-out = サインアウト
