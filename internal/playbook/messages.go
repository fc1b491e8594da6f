package playbook

import (
	"fmt"
	"sync"

	"github.com/tansa-sec/tansa/internal/playbook/notify"
)

// builtinMessages are the notification texts a notify step names with
// with.template, in each console language. They are {{ expr }} templates
// over the run, like every other input.
var builtinMessages = map[string]map[string][2]string{
	"alert": {
		"en": {"[Tansa] {{ level }} alert: {{ rule }}", "Tansa raised a {{ level }} alert.\n\nRule: {{ rule }}\nHost: {{ host }}\nUser: {{ user }}\nAlert: {{ alert.id }}\nRun: {{ run.id }}\n"},
		"ja": {"[Tansa] {{ level }} アラート: {{ rule }}", "Tansa が {{ level }} のアラートを検知しました。\n\nルール: {{ rule }}\nホスト: {{ host }}\nユーザー: {{ user }}\nアラート: {{ alert.id }}\n実行: {{ run.id }}\n"},
	},
	"isolated": {
		"en": {"[Tansa] {{ host }} was isolated", "{{ host }} was isolated from the network by the playbook \"{{ run.playbook }}\".\n\nReason: {{ rule }}\nRun: {{ run.id }}\nThe isolation can be released from the run page.\n"},
		"ja": {"[Tansa] {{ host }} をネットワークから隔離しました", "プレイブック「{{ run.playbook }}」により {{ host }} をネットワークから隔離しました。\n\n理由: {{ rule }}\n実行: {{ run.id }}\n隔離は実行ページから解除できます。\n"},
	},
	"blocked": {
		"en": {"[Tansa] blocked: {{ steps.block.blocked }}", "The playbook \"{{ run.playbook }}\" added {{ steps.block.blocked }} to the block list.\n\nReason: {{ rule }}\nRun: {{ run.id }}\n"},
		"ja": {"[Tansa] ブロックしました: {{ steps.block.blocked }}", "プレイブック「{{ run.playbook }}」により {{ steps.block.blocked }} をブロックリストに追加しました。\n\n理由: {{ rule }}\n実行: {{ run.id }}\n"},
	},
}

var (
	messageOnce  sync.Once
	messageCache map[string]map[string][2]*template
	messageErr   error
)

func compiledMessages() (map[string]map[string][2]*template, error) {
	messageOnce.Do(func() {
		messageCache = map[string]map[string][2]*template{}
		for name, langs := range builtinMessages {
			messageCache[name] = map[string][2]*template{}
			for lang, m := range langs {
				s, err := compileTemplate(m[0])
				if err != nil {
					messageErr = err
					return
				}
				b, err := compileTemplate(m[1])
				if err != nil {
					messageErr = err
					return
				}
				messageCache[name][lang] = [2]*template{s, b}
			}
		}
	})
	return messageCache, messageErr
}

// message picks the subject and body of a notify step in lang: the
// step's subject_<lang> and body_<lang> first, then its subject and body,
// then the built-in template it names.
func message(rs *runState, input map[string]any, lang string) (notify.Message, error) {
	var m notify.Message
	pick := func(field string) string {
		if v := Text(input[field+"_"+lang]); v != "" {
			return v
		}
		return Text(input[field])
	}
	m.Subject, m.Body = pick("subject"), pick("body")
	if name := Text(input["template"]); name != "" && (m.Subject == "" || m.Body == "" || lang != "en") {
		all, err := compiledMessages()
		if err != nil {
			return m, err
		}
		t, ok := all[name][lang]
		if !ok {
			return m, fmt.Errorf("notify: no built-in message %q (alert, isolated, blocked)", name)
		}
		env := runEnv(rs)
		// The built-in text in the tenant's language wins over a subject
		// or body written in English for the template's default.
		if Text(input["subject_"+lang]) == "" && (m.Subject == "" || lang != "en") {
			v, err := render(t[0], env)
			if err != nil {
				return m, err
			}
			m.Subject = Text(v)
		}
		if Text(input["body_"+lang]) == "" && (m.Body == "" || lang != "en") {
			v, err := render(t[1], env)
			if err != nil {
				return m, err
			}
			m.Body = Text(v)
		}
	}
	if m.Subject == "" {
		m.Subject = "[Tansa] " + rs.playbook
	}
	return m, nil
}
