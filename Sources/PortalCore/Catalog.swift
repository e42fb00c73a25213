/// Every text a user of the portal can see, in English and in Japanese.
///
/// Templates show static texts as `{{t.KEY}}`; texts with values (`{seconds}`, `{date}`…) are
/// filled in by `Message.text(in:)`. Tests check that both languages have exactly the same keys and
/// placeholders, and that every `t.KEY` of `web/templates` exists here.
public enum Catalog {
    /// The table of one language, for templates.
    public static func table(_ language: Language) -> [String: String] {
        language == .ja ? japaneseTable : englishTable
    }

    /// One text; the key itself if it is missing (a test makes sure none is).
    public static func text(_ key: String, _ language: Language) -> String {
        table(language)[key] ?? key
    }

    // Built once, keeping the first of a repeated key (a test makes sure there is none), so that a
    // mistake here can never trap as a duplicate dictionary literal key would.
    static let englishTable = Dictionary(english, uniquingKeysWith: { first, _ in first })
    static let japaneseTable = Dictionary(japanese, uniquingKeysWith: { first, _ in first })

    static let english: [(String, String)] = [
        // Every page
        ("app_title", "Two-factor authentication"),
        ("app_subtitle", "Self-service for your account"),
        ("lang_en", "English"),
        ("lang_ja", "日本語"),
        ("logout", "Log out"),
        ("footer", "Never tell anyone your password, codes or recovery codes. The help desk will never ask for them."),
        ("back_to_start", "Back to the start page"),
        ("cancel", "Cancel"),
        ("continue", "Continue"),
        ("yes", "Yes"),
        ("no", "No"),

        // Login
        ("login_title", "Log in"),
        ("login_intro", "Log in with your account and password to set up or manage two-factor authentication."),
        ("account_label", "Account"),
        ("account_hint", "Your user name only, without @ and the domain."),
        ("password_label", "Password"),
        ("login_button", "Log in"),
        ("lost_phone_link", "Lost your phone, or changed to a new one?"),

        // The code at login
        ("code_title", "Verification code"),
        ("code_intro", "Enter the code your authenticator app shows. Without your phone, enter one of your recovery codes instead."),
        ("code_or_recovery_label", "Verification code or recovery code"),
        ("code_button", "Continue"),

        // Remember this device
        ("remember_title", "Remember this device"),
        ("remember_question", "Skip the code on this device for {days} days?"),
        ("remember_hint", "Choose No if this device is not your own (a shared or public computer)."),
        (
            "remember_address",
            "A device is recognized by its network address: where others share it (behind the same router or NAT), logins to your account from there skip the code too."
        ),
        ("remember_yes", "Yes, skip the code on this device"),
        ("remember_no", "No, always ask for the code"),

        // Logging in again
        ("reauth_title", "Confirm it is you"),
        ("reauth_intro", "For your security, enter your password again before you continue."),

        // Dashboard
        ("dashboard_title", "Two-factor authentication"),
        ("status_label", "Two-factor authentication:"),
        ("status_on", "On"),
        ("status_off", "Off"),
        (
            "status_off_hint",
            "Set up an authenticator app on your phone (for example Google Authenticator or Microsoft Authenticator) to turn it on."
        ),
        ("authenticator_title", "Authenticator"),
        ("created_label", "Set up on"),
        ("type_label", "Type"),
        ("type_totp", "Time-based (TOTP)"),
        ("type_hotp", "Counter-based (HOTP)"),
        ("algorithm_label", "Algorithm"),
        ("digits_label", "Digits"),
        ("recovery_left_label", "Recovery codes left"),
        ("setup_title", "Set up an authenticator"),
        ("setup_intro", "You need your phone with an authenticator app installed. Setting up takes about two minutes."),
        ("begin_setup", "Begin setup"),
        ("new_codes_title", "New recovery codes"),
        ("new_codes_intro", "Your current recovery codes stop working. Enter the code your authenticator app shows now."),
        ("new_codes_button", "Get new recovery codes"),
        ("code_label", "Verification code"),
        ("delete_title", "Delete the authenticator"),
        (
            "delete_warning",
            "After you delete it, logins no longer ask for a code until you set up again, and the app on your phone no longer works for this account. Do this when you have lost your phone or changed to a new one, and set up again right away."
        ),
        ("delete_confirm", "I understand: delete my authenticator."),
        ("delete_button", "Delete"),
        ("devices_title", "Remembered devices"),
        ("devices_intro", "On these devices the code is skipped until the date shown."),
        ("devices_none", "No device is remembered."),
        ("device_this", "this device"),
        ("device_key", "SSH key {fingerprint}"),
        ("device_since", "Remembered on:"),
        ("device_until", "until:"),
        ("forget_button", "Forget"),

        // Lost phone
        ("lost_title", "If you lost your phone"),
        (
            "lost_recovery",
            "If you have your recovery codes: log in with your password and one recovery code instead of the verification code, delete the authenticator, and set it up again on your new phone."
        ),
        ("lost_remembered", "If you log in from a remembered device, no code is asked: delete the authenticator and set it up again."),
        ("lost_contact_title", "Without your phone and your recovery codes"),
        ("contact_default", "Contact your IT help desk. After checking who you are, they can reset your two-factor authentication."),

        // Setup
        ("scan_title", "Scan the QR code"),
        (
            "scan_intro",
            "Open your authenticator app (for example Google Authenticator or Microsoft Authenticator), add an account, and scan this QR code."
        ),
        ("qr_alt", "QR code for your authenticator app"),
        ("manual_intro", "If you cannot scan it, enter this key in the app by hand:"),
        ("secret_label", "Key"),
        ("issuer_label", "Issuer"),
        ("next_button", "Next"),
        ("verify_title", "Enter the code"),
        ("verify_intro", "Enter the code the app now shows for this account."),
        ("verify_button", "Verify"),
        ("back_to_qr", "Back to the QR code"),

        // Recovery codes
        ("recovery_title", "Recovery codes"),
        (
            "recovery_intro",
            "Keep these codes somewhere safe (printed, or in a password manager). If you lose your phone, each code works once in place of the verification code. They are shown only now."
        ),
        ("recovery_text_label", "All codes, to copy"),
        ("copy_button", "Copy"),
        ("copied", "Copied"),
        ("download_link", "Download as a text file"),
        ("recovery_file_title", "Recovery codes for {account}"),
        ("recovery_file_note", "Each code works once, in place of the verification code. Keep this file somewhere safe."),
        ("recovery_file_date", "Made on {date}"),

        // Errors
        ("err_csrf", "The form has expired. Please try again."),
        ("err_cross_site", "This form was sent from another site and was refused."),
        ("err_session_expired", "Your session has ended. Please log in again."),
        ("err_account_empty", "Enter your account."),
        ("err_account_too_long", "The account is too long."),
        ("err_account_domain", "Enter your account without @ and the domain: only the user name before the @."),
        ("err_account_characters", "The account contains characters that are not allowed."),
        ("err_password_empty", "Enter your password."),
        ("err_password_too_long", "The password is too long."),
        ("err_password_characters", "The password contains characters that are not allowed."),
        ("err_code_empty", "Enter the code."),
        ("err_code_format", "Enter the code from the app, or a recovery code (letters, digits and dashes only)."),
        ("err_code_digits", "Enter the code from the app: 6 to 8 digits."),
        ("err_login_failed", "The account, password or code is incorrect."),
        ("err_login_throttled", "Too many failed attempts. Try again in {seconds} seconds."),
        ("err_login_throttled_later", "Too many failed attempts. Try again later."),
        (
            "err_locked",
            "Too many wrong codes: the codes of this account are locked. Log in with a recovery code, or contact the help desk."
        ),
        ("err_account_refused", "This account cannot log in now (it may have expired or been locked). Contact the help desk."),
        ("err_unavailable", "The service is temporarily unavailable. Please try again later."),
        ("err_busy", "The service is busy right now. Please try again in a minute."),
        ("err_internal", "Internal error. Please try again later."),
        ("err_mismatch", "The verification code does not match."),
        ("err_not_enrolled", "No authenticator is set up."),
        ("err_already_enrolled", "An authenticator is already set up. To set up a new phone, delete the current one first."),
        ("err_no_pending", "Setup was not started or has expired. Please begin setup again."),
        (
            "err_network",
            "Setup is not allowed from the network you are connected to. Connect from an allowed network (for example the campus network) and try again."
        ),
        ("err_no_such_device", "That device is not remembered."),
        ("err_confirm_delete", "Tick the box to confirm that you want to delete the authenticator."),
        ("err_bad_request", "The request could not be understood. Please try again."),
        ("err_not_found", "This page does not exist."),
        ("err_method", "This page cannot be used that way."),
        ("err_reauth_account", "Enter the account you are logged in with."),
        ("err_too_large", "The form is too large."),
        ("err_state", "That step is not available now. Please start again from the start page."),

        // Notes from the login
        ("note_wrong_code", "The verification code does not match."),
        ("note_no_code", "No code was given."),
        ("note_replayed", "That code was already used. Wait for the next code from the app."),
        ("note_password_as_code", "The code was answered with your password. Enter the code from the app."),
        ("note_locked", "Too many wrong codes: the codes of this account are locked. Use a recovery code, or contact the help desk."),
        ("note_throttled", "Too many wrong codes from here. Try again in {seconds} seconds."),
        ("note_recovery_accepted", "Recovery code accepted. {remaining} recovery codes are left; get new ones before they run out."),
        ("note_recovery_accepted_one", "Recovery code accepted. 1 recovery code is left; get new ones before it runs out."),
        ("note_other", "The login service showed a message that this page cannot display."),

        // Notices
        ("notice_logged_out", "You have logged out."),
        ("notice_setup_done", "Two-factor authentication is now on."),
        ("notice_remembered", "This device skips the code until {date}."),
        ("notice_deleted", "The authenticator was deleted and two-factor authentication is off. Set up your new phone now."),
        ("notice_device_forgotten", "The device was forgotten: it will be asked for the code again."),
        ("notice_new_codes", "New recovery codes were made. The old ones no longer work."),
        ("notice_reauth_done", "Thank you. You can continue now."),
        ("notice_signed_in_as", "Logged in as {user}."),
    ]

    static let japanese: [(String, String)] = [
        // Every page
        ("app_title", "二段階認証"),
        ("app_subtitle", "利用者自身による設定・管理"),
        ("lang_en", "English"),
        ("lang_ja", "日本語"),
        ("logout", "ログアウト"),
        ("footer", "パスワード・確認コード・リカバリーコードは、誰にも教えないでください。ヘルプデスクがこれらを尋ねることはありません。"),
        ("back_to_start", "トップページに戻る"),
        ("cancel", "キャンセル"),
        ("continue", "次へ"),
        ("yes", "はい"),
        ("no", "いいえ"),

        // Login
        ("login_title", "ログイン"),
        ("login_intro", "二段階認証の設定や管理を行うには、アカウントとパスワードでログインしてください。"),
        ("account_label", "アカウント"),
        ("account_hint", "ユーザー名のみを入力してください（@以降のドメインは不要です）。"),
        ("password_label", "パスワード"),
        ("login_button", "ログイン"),
        ("lost_phone_link", "スマートフォンを紛失した・機種変更した場合"),

        // The code at login
        ("code_title", "確認コードの入力"),
        ("code_intro", "認証アプリに表示されている確認コードを入力してください。スマートフォンが手元にない場合は、リカバリーコードを1つ入力してください。"),
        ("code_or_recovery_label", "確認コードまたはリカバリーコード"),
        ("code_button", "次へ"),

        // Remember this device
        ("remember_title", "この端末の記憶"),
        ("remember_question", "この端末では{days}日間、確認コードの入力を省略しますか？"),
        ("remember_hint", "ご自身の端末でない場合（共用のパソコンや公共の端末など）は「いいえ」を選んでください。"),
        ("remember_address", "端末はネットワークのアドレスで識別します。同じルーターやNATの内側などアドレスを共有する場所からは、他の端末でもこのアカウントへのログインで確認コードが省略されます。"),
        ("remember_yes", "はい、この端末では確認コードを省略する"),
        ("remember_no", "いいえ、毎回確認コードを入力する"),

        // Logging in again
        ("reauth_title", "本人確認"),
        ("reauth_intro", "セキュリティのため、続ける前にもう一度パスワードを入力してください。"),

        // Dashboard
        ("dashboard_title", "二段階認証"),
        ("status_label", "二段階認証："),
        ("status_on", "有効"),
        ("status_off", "無効"),
        ("status_off_hint", "スマートフォンに認証アプリ（Google Authenticator、Microsoft Authenticator など）を設定すると有効になります。"),
        ("authenticator_title", "認証アプリ"),
        ("created_label", "登録日時"),
        ("type_label", "方式"),
        ("type_totp", "時刻ベース（TOTP）"),
        ("type_hotp", "カウンターベース（HOTP）"),
        ("algorithm_label", "アルゴリズム"),
        ("digits_label", "桁数"),
        ("recovery_left_label", "リカバリーコードの残り"),
        ("setup_title", "認証アプリの設定"),
        ("setup_intro", "認証アプリをインストールしたスマートフォンを用意してください。設定は2分ほどで終わります。"),
        ("begin_setup", "設定を始める"),
        ("new_codes_title", "リカバリーコードの再発行"),
        ("new_codes_intro", "再発行すると、今のリカバリーコードは使えなくなります。認証アプリに表示されている確認コードを入力してください。"),
        ("new_codes_button", "リカバリーコードを再発行する"),
        ("code_label", "確認コード"),
        ("delete_title", "認証アプリの登録削除"),
        (
            "delete_warning",
            "削除すると、設定し直すまでログイン時に確認コードは求められず、スマートフォンの認証アプリもこのアカウントでは使えなくなります。スマートフォンを紛失したときや機種変更したときに削除し、すぐに設定し直してください。"
        ),
        ("delete_confirm", "上記を理解したうえで、認証アプリの登録を削除します。"),
        ("delete_button", "削除する"),
        ("devices_title", "記憶している端末"),
        ("devices_intro", "以下の端末では、表示された日時まで確認コードの入力を省略します。"),
        ("devices_none", "記憶している端末はありません。"),
        ("device_this", "この端末"),
        ("device_key", "SSH鍵 {fingerprint}"),
        ("device_since", "記憶した日時："),
        ("device_until", "有効期限："),
        ("forget_button", "記憶を解除"),

        // Lost phone
        ("lost_title", "スマートフォンを紛失した場合"),
        (
            "lost_recovery",
            "リカバリーコードをお持ちの場合：パスワードと、確認コードの代わりにリカバリーコードを1つ入力してログインし、認証アプリの登録を削除してから、新しいスマートフォンで設定し直してください。"
        ),
        ("lost_remembered", "記憶している端末からログインする場合は確認コードが求められないので、そのまま登録を削除して設定し直してください。"),
        ("lost_contact_title", "スマートフォンもリカバリーコードもない場合"),
        ("contact_default", "所属機関のITヘルプデスクにお問い合わせください。本人確認のうえ、二段階認証をリセットします。"),

        // Setup
        ("scan_title", "QRコードの読み取り"),
        ("scan_intro", "認証アプリ（Google Authenticator、Microsoft Authenticator など）を開いてアカウントを追加し、このQRコードを読み取ってください。"),
        ("qr_alt", "認証アプリ用のQRコード"),
        ("manual_intro", "読み取れない場合は、次のキーをアプリに手入力してください。"),
        ("secret_label", "キー"),
        ("issuer_label", "発行者"),
        ("next_button", "次へ"),
        ("verify_title", "確認コードの入力"),
        ("verify_intro", "アプリに表示されている、このアカウントの確認コードを入力してください。"),
        ("verify_button", "確認"),
        ("back_to_qr", "QRコードに戻る"),

        // Recovery codes
        ("recovery_title", "リカバリーコード"),
        (
            "recovery_intro",
            "このコードは安全な場所に保管してください（印刷する、パスワード管理ソフトに保存するなど）。スマートフォンを紛失したとき、確認コードの代わりに各コードを1回ずつ使えます。表示されるのは今回だけです。"
        ),
        ("recovery_text_label", "コピー用（すべてのコード）"),
        ("copy_button", "コピー"),
        ("copied", "コピーしました"),
        ("download_link", "テキストファイルでダウンロード"),
        ("recovery_file_title", "{account} のリカバリーコード"),
        ("recovery_file_note", "各コードは、確認コードの代わりに1回だけ使えます。このファイルは安全な場所に保管してください。"),
        ("recovery_file_date", "発行日時：{date}"),

        // Errors
        ("err_csrf", "フォームの有効期限が切れました。もう一度お試しください。"),
        ("err_cross_site", "他のサイトから送信されたため、受け付けませんでした。"),
        ("err_session_expired", "セッションの有効期限が切れました。もう一度ログインしてください。"),
        ("err_account_empty", "アカウントを入力してください。"),
        ("err_account_too_long", "アカウントが長すぎます。"),
        ("err_account_domain", "アカウントは@以降のドメインを付けずに、ユーザー名だけを入力してください。"),
        ("err_account_characters", "アカウントに使用できない文字が含まれています。"),
        ("err_password_empty", "パスワードを入力してください。"),
        ("err_password_too_long", "パスワードが長すぎます。"),
        ("err_password_characters", "パスワードに使用できない文字が含まれています。"),
        ("err_code_empty", "コードを入力してください。"),
        ("err_code_format", "アプリの確認コード、またはリカバリーコードを入力してください（英数字とハイフンのみ）。"),
        ("err_code_digits", "アプリに表示されている確認コード（6〜8桁の数字）を入力してください。"),
        ("err_login_failed", "アカウント、パスワードまたは確認コードが正しくありません。"),
        ("err_login_throttled", "失敗が続いたため、一時的にログインできません。{seconds}秒後にもう一度お試しください。"),
        ("err_login_throttled_later", "失敗が続いたため、一時的にログインできません。しばらくしてからもう一度お試しください。"),
        ("err_locked", "確認コードの誤りが多すぎるため、このアカウントの確認コードはロックされています。リカバリーコードでログインするか、ヘルプデスクにお問い合わせください。"),
        ("err_account_refused", "このアカウントは現在ログインできません（有効期限切れやロックの可能性があります）。ヘルプデスクにお問い合わせください。"),
        ("err_unavailable", "現在このサービスを利用できません。しばらくしてからもう一度お試しください。"),
        ("err_busy", "現在混み合っています。1分ほどしてからもう一度お試しください。"),
        ("err_internal", "内部エラーが発生しました。しばらくしてからもう一度お試しください。"),
        ("err_mismatch", "確認コードが一致しません。"),
        ("err_not_enrolled", "認証アプリが登録されていません。"),
        ("err_already_enrolled", "認証アプリはすでに登録されています。新しいスマートフォンを設定するには、先に今の登録を削除してください。"),
        ("err_no_pending", "設定が開始されていないか、有効期限が切れました。もう一度「設定を始める」からやり直してください。"),
        ("err_network", "現在接続しているネットワークからは設定できません。学内ネットワークなど、許可されたネットワークから接続してやり直してください。"),
        ("err_no_such_device", "その端末は記憶されていません。"),
        ("err_confirm_delete", "削除してよいことを確認するチェックボックスにチェックを入れてください。"),
        ("err_bad_request", "リクエストを処理できませんでした。もう一度お試しください。"),
        ("err_not_found", "このページは存在しません。"),
        ("err_method", "このページはその方法では利用できません。"),
        ("err_reauth_account", "ログイン中のアカウントを入力してください。"),
        ("err_too_large", "送信された内容が大きすぎます。"),
        ("err_state", "この操作は現在行えません。トップページからやり直してください。"),

        // Notes from the login
        ("note_wrong_code", "確認コードが一致しません。"),
        ("note_no_code", "コードが入力されていません。"),
        ("note_replayed", "この確認コードはすでに使用されています。アプリに次のコードが表示されるまでお待ちください。"),
        ("note_password_as_code", "確認コードの欄にパスワードが入力されました。アプリに表示されている確認コードを入力してください。"),
        ("note_locked", "確認コードの誤りが多すぎるため、このアカウントの確認コードはロックされています。リカバリーコードを使うか、ヘルプデスクにお問い合わせください。"),
        ("note_throttled", "この接続元からの確認コードの誤りが多すぎます。{seconds}秒後にもう一度お試しください。"),
        ("note_recovery_accepted", "リカバリーコードを受け付けました。残りは{remaining}個です。なくなる前に再発行してください。"),
        ("note_recovery_accepted_one", "リカバリーコードを受け付けました。残りは1個です。なくなる前に再発行してください。"),
        ("note_other", "ログイン処理からのメッセージがありましたが、このページでは表示できません。"),

        // Notices
        ("notice_logged_out", "ログアウトしました。"),
        ("notice_setup_done", "二段階認証が有効になりました。"),
        ("notice_remembered", "この端末では {date} まで確認コードの入力を省略します。"),
        ("notice_deleted", "認証アプリの登録を削除しました。二段階認証は無効です。新しいスマートフォンで今すぐ設定し直してください。"),
        ("notice_device_forgotten", "端末の記憶を解除しました。次回から確認コードが求められます。"),
        ("notice_new_codes", "リカバリーコードを再発行しました。以前のコードは使えません。"),
        ("notice_reauth_done", "本人確認ができました。操作を続けてください。"),
        ("notice_signed_in_as", "{user} でログインしています。"),
    ]
}

/// A catalog key with the values of its placeholders: what a page shows as an error or a notice,
/// rendered in the page's language only when the page is.
public struct Message: Error, Equatable, Sendable {
    public var key: MessageKey
    public var values: [String: String]

    public init(_ key: MessageKey, _ values: [String: String] = [:]) {
        self.key = key
        self.values = values
    }

    /// The text in `language`, with `{name}` replaced by the value of `name`.
    public func text(in language: Language) -> String {
        Self.fill(Catalog.text(key.rawValue, language), values)
    }

    /// `template` with each `{name}` of `values` replaced, in one pass (a value is never read as a
    /// placeholder); other braces are left as they are.
    public static func fill(_ template: String, _ values: [String: String]) -> String {
        var output = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            output += rest[rest.startIndex..<open]
            let afterOpen = rest.index(after: open)
            if let close = rest[afterOpen...].firstIndex(of: "}"), let value = values[String(rest[afterOpen..<close])] {
                output += value
                rest = rest[rest.index(after: close)...]
            } else {
                output += "{"
                rest = rest[afterOpen...]
            }
        }
        output += rest
        return output
    }
}

/// The catalog keys Swift code names (templates name theirs as `t.KEY`).
public enum MessageKey: String, CaseIterable, Sendable {
    case errCSRF = "err_csrf"
    case errCrossSite = "err_cross_site"
    case errSessionExpired = "err_session_expired"
    case errAccountEmpty = "err_account_empty"
    case errAccountTooLong = "err_account_too_long"
    case errAccountDomain = "err_account_domain"
    case errAccountCharacters = "err_account_characters"
    case errPasswordEmpty = "err_password_empty"
    case errPasswordTooLong = "err_password_too_long"
    case errPasswordCharacters = "err_password_characters"
    case errCodeEmpty = "err_code_empty"
    case errCodeFormat = "err_code_format"
    case errCodeDigits = "err_code_digits"
    case errLoginFailed = "err_login_failed"
    case errLoginThrottled = "err_login_throttled"
    case errLoginThrottledLater = "err_login_throttled_later"
    case errLocked = "err_locked"
    case errAccountRefused = "err_account_refused"
    case errUnavailable = "err_unavailable"
    case errBusy = "err_busy"
    case errInternal = "err_internal"
    case errMismatch = "err_mismatch"
    case errNotEnrolled = "err_not_enrolled"
    case errAlreadyEnrolled = "err_already_enrolled"
    case errNoPending = "err_no_pending"
    case errNetwork = "err_network"
    case errNoSuchDevice = "err_no_such_device"
    case errConfirmDelete = "err_confirm_delete"
    case errBadRequest = "err_bad_request"
    case errNotFound = "err_not_found"
    case errMethod = "err_method"
    case errReauthAccount = "err_reauth_account"
    case errTooLarge = "err_too_large"
    case errState = "err_state"
    case noteWrongCode = "note_wrong_code"
    case noteNoCode = "note_no_code"
    case noteReplayed = "note_replayed"
    case notePasswordAsCode = "note_password_as_code"
    case noteLocked = "note_locked"
    case noteThrottled = "note_throttled"
    case noteRecoveryAccepted = "note_recovery_accepted"
    case noteRecoveryAcceptedOne = "note_recovery_accepted_one"
    case noteOther = "note_other"
    case noticeLoggedOut = "notice_logged_out"
    case noticeSetupDone = "notice_setup_done"
    case noticeRemembered = "notice_remembered"
    case noticeDeleted = "notice_deleted"
    case noticeDeviceForgotten = "notice_device_forgotten"
    case noticeNewCodes = "notice_new_codes"
    case noticeReauthDone = "notice_reauth_done"
    case noticeSignedInAs = "notice_signed_in_as"
    case contactDefault = "contact_default"
    case rememberQuestion = "remember_question"
    case deviceKey = "device_key"
    case recoveryFileTitle = "recovery_file_title"
    case recoveryFileNote = "recovery_file_note"
    case recoveryFileDate = "recovery_file_date"
}
