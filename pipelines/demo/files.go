package demo

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
)

// CSV headers.
const (
	headerOrders       = "order_id,billing_customer_no,customer_name,email,phone,order_time,status,ship_city,currency,gross_amount,discount_amount,net_amount,original_order_id"
	headerLines        = "order_id,line_no,product_code,product_name,category,quantity,unit_price,discount_amount,line_amount"
	headerLegacyOrders = "订单号,客户编号,客户名称,邮箱,电话,下单时间,状态,城市,币种,总金额,折扣金额,实付金额,原订单号"
	headerLegacyLines  = "订单号,行号,商品编码,商品名称,品类,数量,单价,折扣金额,行金额"
	headerSurvey       = "response_id,submitted_at,email,phone,nps,satisfaction,comment"
)

// fileLayout names every CSV file of the dataset: per day an orders and an
// order-lines file (ids 2d and 2d+1), then one survey file per month.
type fileLayout struct {
	paths   []string // slash-separated, relative to the output folder
	legacy  []bool   // GB18030 with CRLF line ends
	headers []string
	days    int
}

func newFileLayout(w *world) fileLayout {
	l := fileLayout{days: w.clk.days}
	for d := range w.clk.days {
		ymd := w.clk.start.AddDate(0, 0, d).Format("20060102")
		if w.legacy[d] {
			l.add("billing/legacy/orders_"+ymd+".csv", headerLegacyOrders, true)
			l.add("billing/legacy/order_lines_"+ymd+".csv", headerLegacyLines, true)
		} else {
			l.add("billing/orders/orders_"+ymd+".csv", headerOrders, false)
			l.add("billing/order_lines/order_lines_"+ymd+".csv", headerLines, false)
		}
	}
	for m := range w.clk.nMonths() {
		l.add("surveys/survey_"+w.clk.monthTime(m).Format("200601")+".csv", headerSurvey, false)
	}
	return l
}

func (l *fileLayout) add(path, header string, legacy bool) {
	l.paths = append(l.paths, path)
	l.headers = append(l.headers, header)
	l.legacy = append(l.legacy, legacy)
}

func (l *fileLayout) orders(day int) int32   { return int32(2 * day) }
func (l *fileLayout) lines(day int) int32    { return int32(2*day + 1) }
func (l *fileLayout) survey(month int) int32 { return int32(2*l.days + month) }

// fileSet appends rows to many files through per-file buffers under one
// memory budget (counted in buffer capacity). When the budget is reached
// every buffer is written out and released. Files stay open in a bounded
// pool and are reopened in append mode when needed, so neither memory nor
// open files grow with the number of customers or days.
type fileSet struct {
	dir    string
	layout *fileLayout
	bufs   [][]byte
	lines  []int64 // lines written or buffered so far, header included
	total  int     // capacity of all buffers
	budget int
	enc    *encoding.Encoder

	fds        []*os.File // open files by id; nil when closed
	open       int
	maxOpen    int
	lastOpened int

	created   chan error
	isCreated bool
	createErr error
}

// maxOpenFiles bounds the pool of open CSV files; Go raises the soft limit
// on open files at start-up, and the database needs a few more.
const maxOpenFiles = 512

func newFileSet(dir string, layout *fileLayout, budget int) (*fileSet, error) {
	fs := &fileSet{
		dir: dir, layout: layout, budget: budget,
		bufs:    make([][]byte, len(layout.paths)),
		lines:   make([]int64, len(layout.paths)),
		fds:     make([]*os.File, len(layout.paths)),
		enc:     simplifiedchinese.GB18030.NewEncoder(),
		maxOpen: maxOpenFiles,
		created: make(chan error, 1),
	}
	made := map[string]bool{}
	for i, p := range layout.paths {
		if d := filepath.Dir(filepath.FromSlash(p)); !made[d] {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				return nil, err
			}
			made[d] = true
		}
		fs.lines[i] = 1
	}
	// Creating a file can cost far more than appending to it, so every file
	// is created with its header in the background while customers are
	// generated; the first flush waits for it.
	go func() { fs.created <- fs.create() }()
	return fs, nil
}

// create writes every file's header.
func (fs *fileSet) create() error {
	var hdr []byte
	for i, p := range fs.layout.paths {
		hdr = append(append(hdr[:0], fs.layout.headers[i]...), fs.newline(i)...)
		if fs.layout.legacy[i] {
			var err error
			if hdr, err = fs.enc.Bytes(hdr); err != nil {
				return err
			}
		}
		path := filepath.Join(fs.dir, filepath.FromSlash(p))
		if err := os.WriteFile(path, hdr, 0o644); err != nil {
			return fmt.Errorf("creating %s: %w", path, err)
		}
	}
	return nil
}

// waitCreated waits for the background creation of the files, once.
func (fs *fileSet) waitCreated() error {
	if !fs.isCreated {
		fs.isCreated = true
		fs.createErr = <-fs.created
	}
	return fs.createErr
}

func (fs *fileSet) newline(id int) string {
	if fs.layout.legacy[id] {
		return "\r\n"
	}
	return "\n"
}

// add appends one row (without its line end) and returns its line number.
func (fs *fileSet) add(id int32, row []byte) (int64, error) {
	b := fs.bufs[id]
	c := cap(b)
	b = append(b, row...)
	b = append(b, fs.newline(int(id))...)
	fs.bufs[id] = b
	fs.total += cap(b) - c
	fs.lines[id]++
	if fs.total >= fs.budget {
		if err := fs.flush(); err != nil {
			return 0, err
		}
	}
	return fs.lines[id], nil
}

// flush writes every non-empty buffer to its file and releases it.
func (fs *fileSet) flush() error {
	if err := fs.waitCreated(); err != nil {
		return err
	}
	for id, b := range fs.bufs {
		if len(b) == 0 {
			continue
		}
		if fs.layout.legacy[id] {
			var err error
			if b, err = fs.enc.Bytes(b); err != nil {
				return fmt.Errorf("encoding %s as GB18030: %w", fs.layout.paths[id], err)
			}
		}
		f, err := fs.file(id)
		if err != nil {
			return err
		}
		if _, err := f.Write(b); err != nil {
			return fmt.Errorf("writing %s: %w", f.Name(), err)
		}
		fs.bufs[id] = nil
	}
	fs.total = 0
	return nil
}

// file returns an open file, opening it in append mode. When the pool is
// full the most recently opened file is closed: flushes visit files in the
// same order every time, and for such cycles keeping the others open gives
// the most hits.
func (fs *fileSet) file(id int) (*os.File, error) {
	if f := fs.fds[id]; f != nil {
		return f, nil
	}
	if fs.open >= fs.maxOpen {
		if err := fs.closeFile(fs.lastOpened); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(fs.dir, filepath.FromSlash(fs.layout.paths[id]))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fs.fds[id] = f
	fs.open++
	fs.lastOpened = id
	return f, nil
}

func (fs *fileSet) closeFile(id int) error {
	f := fs.fds[id]
	if f == nil {
		return nil
	}
	fs.fds[id] = nil
	fs.open--
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", f.Name(), err)
	}
	return nil
}

// close flushes and closes every file.
func (fs *fileSet) close() error {
	err := fs.flush()
	if cerr := fs.abort(); err == nil {
		err = cerr
	}
	return err
}

// abort closes every file without writing what is buffered, once the
// background creation is over (the caller is about to remove the folder).
func (fs *fileSet) abort() error {
	err := fs.waitCreated()
	for id := range fs.fds {
		if cerr := fs.closeFile(id); err == nil {
			err = cerr
		}
	}
	return err
}

// truthWriter writes truth/people.csv and truth/malformed_rows.csv.
type truthWriter struct {
	people, malformed       *os.File
	peopleBuf, malformedBuf *bufio.Writer
}

func newTruthWriter(dir string) (*truthWriter, error) {
	if err := os.MkdirAll(filepath.Join(dir, "truth"), 0o755); err != nil {
		return nil, err
	}
	t := &truthWriter{}
	var err error
	if t.people, err = os.Create(filepath.Join(dir, "truth", "people.csv")); err != nil {
		return nil, err
	}
	if t.malformed, err = os.Create(filepath.Join(dir, "truth", "malformed_rows.csv")); err != nil {
		t.people.Close()
		return nil, err
	}
	t.peopleBuf = bufio.NewWriterSize(t.people, 1<<16)
	t.malformedBuf = bufio.NewWriterSize(t.malformed, 1<<14)
	t.peopleBuf.WriteString("person_id,crm_customer_ids,billing_customer_nos,is_prospect,acquired_at,lambda,p,nu,alive_at_end,dropout_at,purchases,repeat_purchases,complaints\n")
	t.malformedBuf.WriteString("file,line,reason\n")
	return t, nil
}

func (t *truthWriter) malformedRow(file string, line int64, reason string) {
	t.malformedBuf.WriteString(file)
	t.malformedBuf.WriteByte(',')
	var tmp [20]byte
	t.malformedBuf.Write(strconv.AppendInt(tmp[:0], line, 10))
	t.malformedBuf.WriteByte(',')
	t.malformedBuf.WriteString(reason)
	t.malformedBuf.WriteByte('\n')
}

func (t *truthWriter) close() error {
	var errs []error
	for _, w := range []*bufio.Writer{t.peopleBuf, t.malformedBuf} {
		if err := w.Flush(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, f := range []*os.File{t.people, t.malformed} {
		if err := f.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("writing truth: %w", errs[0])
	}
	return nil
}
